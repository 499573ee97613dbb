# PASS: a plain `def` activity (run on the worker's threads) that heartbeats the parcel reached and the grams so far
"""A learner's e08: ``weigh_parcels`` written without async, ``time.sleep`` for the scale."""

from __future__ import annotations

import time

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
def weigh_parcels(batch: Batch) -> int:
    details = activity.info().heartbeat_details
    done, grams = (details[0], details[1]) if details else (0, 0)
    for parcel in range(done + 1, batch.parcels + 1):
        time.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        activity.heartbeat(done, grams)
    return grams
