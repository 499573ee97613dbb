"""Exercise 08's check: does ``weigh_parcels`` survive a worker killed in the middle of a batch?

It runs your module in a worker process (``python -m exercises.e08_survive_a_kill QUEUE``,
from ``notebooks/``), starts ``BatchWorkflow`` for ``weigh_parcels`` over 10 parcels, and
kills the process with SIGKILL once the first attempt has weighed 4 of them. Then it starts a
second worker process, waits for the batch to end, and reads the work log (which attempt
weighed which parcel) and the result (the total weight). It says the first thing that is wrong.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import ModuleType

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from saga_lab.checkout import ended_within, terminate_if_running
from saga_lab.connection import task_queue, workflow_id
from saga_lab.failures import root_message

from . import check as verdict
from . import fresh_id, practice

MODULE = "e08_survive_a_kill"
NOTEBOOKS = Path(__file__).resolve().parent.parent
PARCELS = 10
SECONDS_PER_PARCEL = 0.3
#: The first worker is killed once its attempt has weighed this many parcels.
KILL_AFTER = 4
#: How long the first worker may take to start and weigh them, and the whole batch to end.
START_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 30.0


class WorkerProcess:
    """One ``python -m <module> QUEUE`` process, its output kept in a file for when it dies early."""

    def __init__(self, module: str, task_queue: str, folder: Path, name: str) -> None:
        self.output = folder / f"{name}.log"
        with open(self.output, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, task_queue],
                cwd=NOTEBOOKS,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # an interrupt of the kernel does not reach it
            )

    def died(self) -> str | None:
        """None while it runs; else the last line it wrote."""
        if self.process.poll() is None:
            return None
        lines = self.output.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit code {self.process.returncode}"

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def _work_log(path: Path) -> list[tuple[int, int]]:
    """``(parcel, attempt)`` for each line of the work log, in the order written."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        _, _, parcel, _, attempt = line.split()
        rows.append((int(parcel), int(attempt)))
    return rows


def _span(parcels: list[int]) -> str:
    if not parcels:
        return "none"
    return f"{parcels[0]}" if len(parcels) == 1 else f"{parcels[0]} to {parcels[-1]}"


async def _last_heartbeat(client: Client, handle: WorkflowHandle) -> list:
    """The details of the newest heartbeat the server holds for the batch's activity ([] if none)."""
    pending = (await handle.describe()).raw_description.pending_activities
    if not pending or not pending[0].heartbeat_details.payloads:
        return []
    return await client.data_converter.decode(pending[0].heartbeat_details.payloads)


async def _wait_for_parcels(log: Path, first: WorkerProcess, count: int) -> str | None:
    """Until the first attempt has weighed ``count`` parcels; else what went wrong."""
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
    while sum(1 for _, attempt in _work_log(log) if attempt == 1) < count:
        died = first.died()
        if died is not None:
            return f"the worker process ended before the batch was half done: {died}"
        if asyncio.get_running_loop().time() > deadline:
            return f"the first attempt had not weighed {count} parcels after {START_TIMEOUT_S:g} s"
        await asyncio.sleep(0.05)
    return None


def verdict_of(rows: list[tuple[int, int]], details: list, killed_after: int, result: int | None, error: str | None):
    """The problem with a finished run (None: it survived the kill)."""
    first = sorted({parcel for parcel, attempt in rows if attempt == 1})
    later = sorted({parcel for parcel, attempt in rows if attempt > 1})
    if error is not None:
        if not details:
            return (
                f"no heartbeat reached the server, so every attempt was taken for dead 2 s after it started "
                f"(its heartbeat timeout), even while its worker was alive, and the batch failed: {error}"
            )
        return f"the batch failed: {error}"
    redone = [parcel for parcel in later if parcel in first]
    if len(redone) > 1:  # the parcel under way when the worker died may be redone; nothing before it
        said = f"the last heartbeat's details were {details}" if details else "the last heartbeat had no details"
        return (
            f"the new attempt weighed parcels {_span(redone)} again, though the first had weighed them "
            f"before its worker was killed ({said})"
        )
    missing = [parcel for parcel in range(1, PARCELS + 1) if parcel not in first and parcel not in later]
    if missing:
        return f"parcels {', '.join(map(str, missing))} were never weighed"
    expected = sum(100 + 7 * parcel for parcel in range(1, PARCELS + 1))
    if result != expected:
        return (
            f"no parcel was weighed twice, but the batch returned {result} g and the {PARCELS} parcels weigh "
            f"{expected} g: the new attempt did not know what the parcels before it weighed"
        )
    return None


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Kill the worker in the middle of a batch, start another, and print PASS or NOT YET.

    ``module``: a module to check instead of the file; the worker processes import it by its
    name, so it must be importable from ``notebooks/`` or ``PYTHONPATH``.
    """
    try:
        module = module or practice(MODULE)
    except Exception as err:  # the learner's file does not import: one line, no traceback
        return verdict(False, "", f"exercises/{MODULE}.py does not import: {type(err).__name__}: {err}")
    folder = Path(tempfile.mkdtemp(prefix="ex08-"))
    log = folder / "work.log"
    queue = task_queue(client, f"ex08-batch-{uuid.uuid4().hex[:6]}")
    batch = module.Batch("weigh_parcels", PARCELS, SECONDS_PER_PARCEL, str(log))
    workers = [WorkerProcess(module.__name__, queue, folder, "first")]
    try:
        handle = await client.start_workflow(
            module.BatchWorkflow.run, batch, id=workflow_id(client, fresh_id("ex08")), task_queue=queue
        )
        problem = await _wait_for_parcels(log, workers[0], KILL_AFTER)
        if problem is not None:
            await terminate_if_running(handle, "exercise 08's check: the first worker did not get going")
            return verdict(False, "", problem)
        workers[0].kill()
        killed_after = max(parcel for parcel, attempt in _work_log(log) if attempt == 1)
        details = await _last_heartbeat(client, handle)
        workers.append(WorkerProcess(module.__name__, queue, folder, "second"))
        result, error = None, f"it did not end within {RUN_TIMEOUT_S:g} s"
        if await ended_within(handle, RUN_TIMEOUT_S, "exercise 08's check: the batch did not end"):
            try:
                result, error = await handle.result(), None
            except WorkflowFailureError as failure:
                error = root_message(failure)
        problem = verdict_of(_work_log(log), details, killed_after, result, error)
        resumed = min((parcel for parcel, attempt in _work_log(log) if attempt > 1), default=None)
        return verdict(
            problem is None,
            f"the worker was killed after parcel {killed_after}; the new attempt went on at parcel {resumed}, "
            f"from the last heartbeat's details, and the batch weighed {result} g, every parcel counted once.",
            problem or "",
        )
    finally:
        for worker in workers:
            worker.kill()
        shutil.rmtree(folder, ignore_errors=True)
