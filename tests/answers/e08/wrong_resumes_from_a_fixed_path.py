# NOT YET naming "no heartbeat carried any details": it resumes from a file at a fixed path in /tmp
"""A learner's e08: progress in /tmp under the workflow's id, removed at the end; the heartbeat only says "alive"."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from temporalio import activity

from exercises.e08_survive_a_kill import Batch, BatchWorkflow, pack_parcels, record, weight_of  # noqa: F401


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    progress = Path("/tmp") / f"saga-lab-weigh-{activity.info().workflow_id.replace('/', '_')}.json"
    done, grams = json.loads(progress.read_text()) if progress.exists() else (0, 0)
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        progress.write_text(json.dumps([done, grams]))
        activity.heartbeat()
    progress.unlink()
    return grams
