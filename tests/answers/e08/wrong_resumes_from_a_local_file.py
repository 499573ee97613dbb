# NOT YET naming "again", "no details": it resumes from a file beside the work log, not from a heartbeat
"""A learner's e08: progress kept in a file beside the work log; the heartbeat only says "alive"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    progress = Path(batch.log).with_suffix(".progress.json")
    done, grams = json.loads(progress.read_text()) if progress.exists() else (0, 0)
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        progress.write_text(json.dumps([done, grams]))
        activity.heartbeat()
    return grams
