# NOT YET naming "did not know what the parcels before it weighed": it heartbeats the parcel, not the total
"""A learner's e08: heartbeats how far it got, not the total so far."""

from __future__ import annotations

import asyncio

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    details = activity.info().heartbeat_details
    done, grams = (details[0], 0) if details else (0, 0)
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        activity.heartbeat(done)
    return grams
