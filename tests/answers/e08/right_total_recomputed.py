# PASS: it heartbeats only the parcel reached, and a retry recomputes the weight of the parcels before it
"""A learner's e08: the total is derived from how far it got (the scale's answer per parcel never changes)."""

from __future__ import annotations

import asyncio

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    details = activity.info().heartbeat_details
    done = details[0] if details else 0
    grams = sum(weight_of(parcel) for parcel in range(1, done + 1))
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        grams += weight_of(parcel)
        activity.heartbeat(parcel)
    return grams
