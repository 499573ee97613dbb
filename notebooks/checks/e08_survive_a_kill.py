"""Exercise 08's check: does ``weigh_parcels`` survive a worker killed in the middle of a batch?

It runs your module's ``BatchWorkflow`` and activities (``exercises/e08_survive_a_kill.py``) in
a worker process, starts the batch for ``weigh_parcels`` over 10 parcels, and kills the process
with SIGKILL once the first attempt has weighed 4 of them and its heartbeat after the 4th has
reached the server (if a busy machine makes the kill land after the 5th instead, that batch is
set aside and the kill is tried again on a fresh one, so a heartbeat every fifth parcel cannot
pass by luck). Then it starts a second worker process as another machine would: its own
working directory and temporary folder, and nothing left in the batch's folder but the work
log. It waits for the batch to end and reads the work log (which attempt weighed which parcel),
the last heartbeat's details and the result (the total weight). It says the first thing that is wrong.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from saga_lab.checkout import terminate_if_running
from saga_lab.connection import workflow_id

from . import support
from .worker_process import WorkerProcess

MODULE = "e08_survive_a_kill"
NAMES = ("Batch", "BatchWorkflow", "pack_parcels", "weigh_parcels")
PARCELS = 10
SECONDS_PER_PARCEL = 0.3
#: The first worker is killed once its attempt has weighed this many parcels.
KILL_AFTER = 4
#: Batches tried, each on a fresh workflow, until the kill lands between parcel 4 and parcel 5.
KILL_TRIES = 3
LATE_KILL = f"the exercise check set this batch aside: its kill came after parcel {KILL_AFTER + 1}, not {KILL_AFTER}"
#: How long after that parcel is written its heartbeat may take to reach the server before the kill goes ahead
#: anyway: well inside a parcel's time, so that the kill lands before the next parcel is done.
HEARTBEAT_WITHIN_S = 0.15
#: How long the first worker may take to start and weigh them, and the whole batch to end.
START_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 30.0


def process_worker(module: ModuleType, client: Client, task_queue: str, home: Path) -> Worker:
    """The worker of a :class:`WorkerProcess`: your workflow and activities, as the module's own ``run_worker``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[module.BatchWorkflow],
        activities=[module.pack_parcels, module.weigh_parcels],
        activity_executor=ThreadPoolExecutor(4),  # a plain `def` activity works too
        # Every heartbeat reaches the server (the SDK's default throttle is 0.8 x the heartbeat timeout).
        max_heartbeat_throttle_interval=timedelta(milliseconds=200),
        # A killed worker's workflow task goes to the next worker after 1 s, not the default 10 s.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
    )


def weight(parcels: int = PARCELS) -> int:
    """What the scale says for parcels ``1..parcels``, in grams (as ``weight_of`` in the exercise)."""
    return sum(100 + 7 * parcel for parcel in range(1, parcels + 1))


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
    return f"{parcels[0]}" if len(parcels) == 1 else f"{parcels[0]} to {parcels[-1]}"


async def _heartbeat(client: Client, handle: WorkflowHandle) -> tuple[datetime | None, list]:
    """When the server last heard a heartbeat of the batch's activity, and that heartbeat's details ([] if none)."""
    pending = (await handle.describe()).raw_description.pending_activities
    if not pending:
        return None, []
    heard = pending[0].last_heartbeat_time.ToDatetime(UTC) if pending[0].HasField("last_heartbeat_time") else None
    payloads = pending[0].heartbeat_details.payloads
    return heard, (await client.data_converter.decode(payloads) if payloads else [])


async def _first_attempt_under_way(client: Client, handle: WorkflowHandle, log: Path, first: WorkerProcess) -> None:
    """Until the first attempt has weighed :data:`KILL_AFTER` parcels and the heartbeat after them is heard."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while sum(1 for _, attempt in _work_log(log) if attempt == 1) < KILL_AFTER:
        died = first.died()
        if died is not None:
            raise support.NotYet(f"the worker process ended before the batch was half done: {died}")
        if loop.time() > deadline:
            raise support.NotYet(f"the first attempt had not weighed {KILL_AFTER} parcels after {START_TIMEOUT_S:g} s")
        await asyncio.sleep(0.05)
    weighed_at = datetime.fromtimestamp(log.stat().st_mtime, UTC)
    until = loop.time() + HEARTBEAT_WITHIN_S - (datetime.now(UTC) - weighed_at).total_seconds()
    while loop.time() < until:
        heard, _ = await _heartbeat(client, handle)
        if heard is not None and heard >= weighed_at - timedelta(milliseconds=20):
            return
        await asyncio.sleep(0.02)


def _forget_local_state(folder: Path, log: Path) -> None:
    """What the first worker left in the batch's folder goes, as it would on another machine; the work log stays."""
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path != log:
            path.unlink()


def problem_of(rows: list[tuple[int, int]], details: list, facts) -> str | None:
    """The problem with a batch that was killed after parcel 4 and retried (None: it survived the kill)."""
    first = sorted({parcel for parcel, attempt in rows if attempt == 1})
    later = sorted({parcel for parcel, attempt in rows if attempt > 1})
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_TIMEOUT_S, "the batch")
    if facts.status != "COMPLETED":
        if not details:
            return (
                "no heartbeat reached the server, so every attempt was taken for dead 2 s after it started "
                f"(its heartbeat timeout), even while its worker was alive, and the batch failed: {facts.failure}"
            )
        return f"the batch failed: {facts.failure}"
    said = f"the last heartbeat's details were {details}" if details else "the last heartbeat had no details"
    redone = [parcel for parcel in later if parcel in first]
    if len(redone) > 1:  # the parcel under way when the worker died may be redone; nothing before it
        return (
            f"the new attempt, in a new worker process, weighed parcels {_span(redone)} again, though the first "
            f"had weighed them before its worker was killed ({said})"
        )
    if later and not details:
        return (
            f"the new attempt went on at parcel {later[0]}, but no heartbeat carried any details: it went on from "
            "what only the first worker's machine had (a file, memory); on another machine it starts over"
        )
    missing = [parcel for parcel in range(1, PARCELS + 1) if parcel not in first and parcel not in later]
    if missing:
        return (
            f"parcel {', '.join(map(str, missing))} was never weighed: the new attempt went on after it ({said}), "
            "so a heartbeat said it was done before it was"
        )
    if facts.result != weight():
        return (
            f"no parcel was weighed twice, but the batch returned {facts.result} g and the {PARCELS} parcels weigh "
            f"{weight()} g: the new attempt did not know what the parcels before it weighed ({said})"
        )
    return None


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Kill the worker in the middle of a batch, start another, and print PASS or NOT YET.

    ``module``: a module to check instead of the file; the worker processes import it by its
    name (from ``notebooks/``, or the folder above its package).
    """
    shown: list[str] = []

    async def trial(learner: ModuleType, last_try: bool) -> tuple | str | None:
        """One batch killed after parcel 4: (work log, last heartbeat's details, facts, killed after), a problem
        found before the kill, or None when the kill landed late and another try is due."""
        with tempfile.TemporaryDirectory(prefix="ex08-") as workers, tempfile.TemporaryDirectory(prefix="ex08-") as box:
            log = Path(box) / "work.log"
            queue = support.queue_name(client, support.fresh_id("ex08-batch"))
            batch = learner.Batch("weigh_parcels", PARCELS, SECONDS_PER_PARCEL, str(log))
            processes = [WorkerProcess(__name__, learner, queue, Path(box), Path(workers), "first")]
            try:
                handle = await client.start_workflow(
                    learner.BatchWorkflow.run, batch, id=workflow_id(client, support.fresh_id("ex08")), task_queue=queue
                )
                try:
                    await _first_attempt_under_way(client, handle, log, processes[0])
                except support.NotYet:
                    facts = await support.finish(handle, 0, "the batch")  # a batch that failed says why
                    if facts.status not in ("RUNNING", "TERMINATED"):
                        return problem_of(_work_log(log), [], facts)
                    raise
                processes[0].kill()
                killed_after = max(parcel for parcel, attempt in _work_log(log) if attempt == 1)
                if killed_after != KILL_AFTER and not last_try:
                    await terminate_if_running(handle, LATE_KILL)  # a busy machine: set this batch aside
                    return None
                _, details = await _heartbeat(client, handle)
                _forget_local_state(Path(box), log)
                processes.append(WorkerProcess(__name__, learner, queue, Path(box), Path(workers), "second"))
                facts = await support.finish(handle, RUN_TIMEOUT_S, "the batch")
            finally:
                for process in processes:
                    process.kill()
            return _work_log(log), details, facts, killed_after

    async def body() -> str | None:
        learner = support.load(MODULE, *NAMES, module=module)
        for attempt in range(1, KILL_TRIES + 1):
            outcome = await trial(learner, last_try=attempt == KILL_TRIES)
            if outcome is None:
                continue
            if isinstance(outcome, str):
                return outcome
            break
        rows, details, facts, killed_after = outcome
        resumed = min((parcel for parcel, attempt in rows if attempt > 1), default=None)
        shown.append(
            f"the worker was killed after parcel {killed_after}; the new attempt, in a new worker process, went on "
            f"at parcel {resumed}, from the last heartbeat's details, and the batch weighed {facts.result} g, every "
            "parcel counted once."
        )
        return problem_of(rows, details, facts)

    return await support.judge("e08", lambda: shown[-1], body, client)
