# NOT YET naming "again", "the last heartbeat's details were": it heartbeats its progress but never reads it back
"""A learner's e08: TODO 1 done, TODO 2 forgotten."""

from __future__ import annotations

import asyncio

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    done, grams = 0, 0
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        activity.heartbeat(done, grams)
    return grams
