# NOT YET naming "parcel 5 was never weighed": it heartbeats a parcel as done before it weighs it
"""A learner's e08: the heartbeat comes first in the loop, "to stay alive while weighing"."""

from __future__ import annotations

import asyncio

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    details = activity.info().heartbeat_details
    done, grams = (details[0], details[1]) if details else (0, 0)
    for parcel in range(done + 1, batch.parcels + 1):
        activity.heartbeat(parcel, grams + weight_of(parcel))
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
    return grams
