# PASS: one detail, a dict with the parcel reached and the grams so far
"""A learner's e08: the progress as one dict."""

from __future__ import annotations

import asyncio

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    details = activity.info().heartbeat_details
    progress = details[0] if details else {"done": 0, "grams": 0}
    for parcel in range(progress["done"] + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        progress = {"done": parcel, "grams": progress["grams"] + weight_of(parcel)}
        activity.heartbeat(progress)
    return progress["grams"]
