"""Exercise 08 · survive a killed worker.

Two activities work through a batch of parcels, one parcel at a time, and write each parcel
they finish to the batch's work log, so you (and the check) can see which attempt did what:

- ``pack_parcels`` is the worked example of notebook 08. It heartbeats the number of parcels
  packed; when its worker is killed, the retry (on another worker) starts after the last
  parcel the server heard of.
- ``weigh_parcels`` is yours. It weighs the parcels and returns their total weight in grams.
  Today it never heartbeats, and a retry starts again from nothing.

``BatchWorkflow`` runs either one with a heartbeat timeout of 2 s: an attempt that has not
heartbeated for 2 s is taken for dead and retried. Make ``weigh_parcels`` survive a worker
killed in the middle of a batch:

- TODO 1: while its worker lives, an attempt is never taken for dead, however long the batch;
- TODO 2: when its worker is killed, the new attempt, in another worker process (on another
  machine, as far as this code can tell: no file or memory of the first is there), goes on
  where the killed one got to: no parcel before it is weighed again, none is skipped, and
  the total it returns counts every parcel once.

Edit this file, save it, and rerun the check cell in notebook 08. It runs this module's
workflow and activities in a worker process, kills it with SIGKILL in the middle of a
batch, starts another in a folder of its own, and reads the work log and the result.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy


@dataclass
class Batch:
    """Work through parcels ``1..parcels`` with the activity named ``activity``, ``seconds`` per parcel.

    ``log`` is a file the activity appends one line to per parcel finished.
    """

    activity: str
    parcels: int
    seconds: float
    log: str


def record(batch: Batch, parcel: int) -> None:
    """Write to the work log that this attempt finished ``parcel``."""
    with open(batch.log, "a", encoding="utf-8") as log:
        log.write(f"{activity.info().activity_type} parcel {parcel} attempt {activity.info().attempt}\n")


def weight_of(parcel: int) -> int:
    """What the scale says for one parcel, in grams."""
    return 100 + 7 * parcel


@activity.defn
async def pack_parcels(batch: Batch) -> int:
    """Pack the parcels one by one; heartbeat the number packed, and resume after it on a retry."""
    details = activity.info().heartbeat_details  # the last heartbeat's details; empty on a first attempt
    packed = details[0] if details else 0
    for parcel in range(packed + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)  # packing one parcel
        record(batch, parcel)
        packed = parcel
        activity.heartbeat(packed)  # alive, and this far
    return packed


@activity.defn
async def weigh_parcels(batch: Batch) -> int:
    """Weigh the parcels one by one; returns their total weight in grams."""
    done, grams = 0, 0
    # TODO 2: a new attempt goes on where the killed one got to
    for parcel in range(done + 1, batch.parcels + 1):
        await asyncio.sleep(batch.seconds)  # weighing one parcel
        record(batch, parcel)
        done, grams = parcel, grams + weight_of(parcel)
        # TODO 1: alive, so far (and TODO 2: what a new attempt elsewhere needs to go on from here)
    return grams


@workflow.defn
class BatchWorkflow:
    """Run one batch activity with a heartbeat timeout far shorter than its start-to-close timeout."""

    @workflow.run
    async def run(self, batch: Batch) -> int:
        return await workflow.execute_activity(
            batch.activity,
            batch,
            result_type=int,
            start_to_close_timeout=timedelta(minutes=5),  # the longest a whole batch may take
            heartbeat_timeout=timedelta(seconds=2),  # silent for 2 s: the attempt is taken for dead
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=3),
        )


# ---------------------------------------------------------------- a worker process for this module (no TODO here)


async def run_worker(task_queue: str) -> None:
    """Poll ``task_queue`` for ``BatchWorkflow`` and both activities until the process is killed."""
    from temporalio.worker import Worker

    from saga_lab.connection import connect

    client = await connect()  # the server this process's environment names, as `saga-lab worker` uses
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[BatchWorkflow],
        activities=[pack_parcels, weigh_parcels],
        # The SDK sends at most one heartbeat per 0.8 x heartbeat_timeout (1.6 s here) and keeps only
        # the newest in between; 0.2 s lets the server hear of (almost) every parcel.
        max_heartbeat_throttle_interval=timedelta(milliseconds=200),
        # When this process is killed, the server waits this long for it before it hands the workflow's
        # next task to another worker (notebook 08, section 3; the default is 10 s).
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )
    print(f"worker polling {task_queue}", flush=True)
    await worker.run()


if __name__ == "__main__":
    import importlib

    # Run the module imported under its own name (exercises.e08_survive_a_kill), not as __main__:
    # the workflow sandbox re-imports a workflow's module by that name.
    asyncio.run(importlib.import_module(__spec__.name).run_worker(sys.argv[1]))
