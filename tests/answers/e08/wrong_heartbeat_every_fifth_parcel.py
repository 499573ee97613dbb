# NOT YET naming "again": it heartbeats every fifth parcel only, so a new attempt redoes up to four
"""A learner's e08: fewer heartbeats, "to spare the server"."""

from __future__ import annotations

import asyncio

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    details = activity.info().heartbeat_details
    done, grams = (details[0], details[1]) if details else (0, 0)
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        if parcel % 5 == 0 or parcel == done + 1:
            activity.heartbeat(done, grams)
    return grams
