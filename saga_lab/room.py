"""The room's client side: a learner's check reports its verdict; the instructor opens the room and reads it.

The room itself is :class:`~saga_lab.workflows.room.RoomWorkflow`, one workflow per room on the
room's Temporal server. Which server that is:

- ``SAGA_LAB_ROOM`` (an address, ``10.0.0.5:7233``) when set: the instructor's server, while each
  learner runs their own (one server per laptop; only verdicts travel to the room);
- else ``TEMPORAL_ADDRESS`` (one server for the room: the learners' server is the room's);
- else none, for a learner: a learner on their own embedded server has no room, and
  :func:`report_verdict` returns at once without connecting anywhere.

:func:`report_verdict` never raises and never holds a check for more than :data:`REPORT_WAIT_S`;
it prints nothing. Verdicts a learner sends while no room runs are dropped: the room starts empty.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from datetime import timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RetryConfig, RPCError
from temporalio.worker import Worker

from . import connection
from .server import DEFAULT_NAMESPACE, ServerError, ServerInfo
from .workflows.room import NOT_YET, PASS, ROOM_ID_PREFIX, ROOM_TASK_QUEUE, RoomState, RoomWorkflow, Verdict

ROOM_ENV = "SAGA_LAB_ROOM"
#: The room every learner's checks report to (another name makes a rehearsal room of its own).
DEFAULT_ROOM = "room"
#: The longest a check waits for its verdict to reach the room; past it the verdict goes on in the background.
REPORT_WAIT_S = 2.0
#: How long the instructor's query may take before the room is said to have no worker.
QUERY_TIMEOUT_S = 5.0
#: What the table shows for an exercise a learner has not tried.
NOT_TRIED = "-"
#: A killed room worker's cached room moves to the next worker after this (the SDK's default is 10 s).
STICKY_TIMEOUT = timedelta(seconds=1)
#: A verdict is one signal: no retry beyond a second, the check must not wait on an unreachable room.
REPORT_RETRY = RetryConfig(initial_interval_millis=100, max_interval_millis=200, max_elapsed_time_millis=1000)


def room_id(name: str = DEFAULT_ROOM) -> str:
    """The workflow id of room ``name``: ``saga-lab-room`` for the default room, ``saga-lab-room-<name>`` else."""
    return ROOM_ID_PREFIX if name == DEFAULT_ROOM else f"{ROOM_ID_PREFIX}-{name}"


def room_server() -> ServerInfo | None:
    """The server a learner's verdicts go to (``SAGA_LAB_ROOM``, else ``TEMPORAL_ADDRESS``), or None."""
    address = os.environ.get(ROOM_ENV, "").strip()
    if address:
        return ServerInfo(address=address, namespace=DEFAULT_NAMESPACE, ui_url=None, embedded=False)
    return connection.external_server()


# ---------------------------------------------------------------- the learner's side


def report_verdict(exercise: str, passed: bool, message: str) -> bool:
    """Send one verdict to the room, if a room runs; True when it arrived. Never raises, prints nothing.

    Waits at most :data:`REPORT_WAIT_S` (a thread of its own, so a check running in a notebook's event
    loop can call it); with no room address set it returns at once.
    """
    info = room_server()
    if info is None:
        return False
    try:
        verdict = Verdict(connection.learner(), exercise, bool(passed), first_line(message), time.time())
    except Exception:  # a learner name that cannot be used: the check itself says so elsewhere
        return False
    arrived: list[bool] = []

    def send() -> None:
        try:
            arrived.append(asyncio.run(_send(info, verdict)))
        except BaseException:  # nothing a room does may reach the learner's check
            arrived.append(False)

    thread = threading.Thread(target=send, name="saga-lab-room-report", daemon=True)
    thread.start()
    thread.join(REPORT_WAIT_S)
    return bool(arrived and arrived[0])


def first_line(message: str) -> str:
    """The message's first line without the check's ``PASS:``/``NOT YET:`` word (the room shows its own)."""
    line = (str(message).strip().splitlines() or [""])[0].strip()
    for word in ("PASS:", "NOT YET:"):
        if line.startswith(word):
            return line[len(word) :].strip()
    return line


async def _send(info: ServerInfo, verdict: Verdict) -> bool:
    client = await Client.connect(
        info.address, namespace=info.namespace, runtime=connection.quiet_runtime(), retry_config=REPORT_RETRY
    )
    try:
        await client.get_workflow_handle(room_id()).signal(
            RoomWorkflow.verdict, verdict, rpc_timeout=timedelta(seconds=REPORT_WAIT_S)
        )
    except RPCError:  # NOT_FOUND: no room runs here (or it was closed)
        return False
    return True


# ---------------------------------------------------------------- the instructor's side


async def open_room(client: Client, name: str = DEFAULT_ROOM, continue_every: int | None = None) -> WorkflowHandle:
    """Start room ``name`` on ``client``'s server, or find it running (a restart keeps its state)."""
    state = RoomState(name=name)
    if continue_every is not None:
        state.continue_every = continue_every
    return await client.start_workflow(
        RoomWorkflow.run,
        state,
        id=room_id(name),
        task_queue=ROOM_TASK_QUEUE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


def room_worker(client: Client) -> Worker:
    """The worker that runs rooms: it holds no state of its own, so it may be killed and started again."""
    return Worker(
        client,
        task_queue=ROOM_TASK_QUEUE,
        workflows=[RoomWorkflow],
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
        graceful_shutdown_timeout=timedelta(seconds=0),
    )


async def run_room(client: Client, name: str = DEFAULT_ROOM) -> None:
    """Open room ``name`` and run its worker until cancelled (``saga-lab room start``)."""
    await open_room(client, name)
    await room_worker(client).run()


async def progress(client: Client, name: str = DEFAULT_ROOM) -> RoomState:
    """The room's state, from its ``progress`` query.

    Raises :class:`ServerError` in one line when no such room runs, or when no worker answers.
    """
    handle = client.get_workflow_handle(room_id(name))
    try:
        return await handle.query(RoomWorkflow.progress, rpc_timeout=timedelta(seconds=QUERY_TIMEOUT_S))
    except RPCError as err:
        if err.status.name == "NOT_FOUND":
            raise ServerError(
                f"no room {name!r} on {client.service_client.config.target_host}: open it with `saga-lab room start`"
            ) from None
        if err.status.name in ("DEADLINE_EXCEEDED", "CANCELLED"):  # the query's timeout
            raise ServerError(
                f"room {name!r} did not answer in {QUERY_TIMEOUT_S:.0f} s: its worker is not running; "
                "start it again with `saga-lab room start` (the room keeps its state)"
            ) from None
        raise ServerError(f"room {name!r}: {err.status.name}: {err.message.splitlines()[0]}") from None


async def close_room(client: Client, name: str = DEFAULT_ROOM) -> RoomState:
    """End room ``name`` (its last state is the workflow's result)."""
    handle = client.get_workflow_handle_for(RoomWorkflow.run, room_id(name))
    try:
        await handle.signal(RoomWorkflow.close)
    except RPCError as err:
        raise ServerError(f"no room {name!r} is open on {client.service_client.config.target_host}") from err
    return await handle.result(rpc_timeout=timedelta(seconds=QUERY_TIMEOUT_S))


# ---------------------------------------------------------------- what the instructor reads


def exercises(state: RoomState) -> list[str]:
    """Every exercise anyone in the room has tried, in order."""
    return sorted({exercise for attempts in state.learners.values() for exercise in attempts})


def table_rows(state: RoomState) -> list[dict[str, str]]:
    """One row per learner: PASS / NOT YET / ``-`` (not tried) per exercise."""
    columns = exercises(state)
    rows = []
    for learner in sorted(state.learners):
        attempts = state.learners[learner]
        row = {"learner": learner}
        for exercise in columns:
            attempt = attempts.get(exercise)
            row[exercise] = NOT_TRIED if attempt is None else (PASS if attempt.passed else NOT_YET)
        rows.append(row)
    return rows


def stuck_rows(state: RoomState) -> list[dict[str, object]]:
    """One row per exercise: how many passed, are stuck (last verdict NOT YET), have not tried, and on what."""
    rows = []
    for exercise in exercises(state):
        attempts = {name: tried[exercise] for name, tried in state.learners.items() if exercise in tried}
        stuck = {name: attempt for name, attempt in attempts.items() if not attempt.passed}
        messages = Counter(attempt.message for attempt in stuck.values())
        common, count = messages.most_common(1)[0] if messages else ("", 0)
        rows.append(
            {
                "exercise": exercise,
                "PASS": len(attempts) - len(stuck),
                "NOT YET": len(stuck),
                "not tried": len(state.learners) - len(attempts),
                "stuck on": f"{count} x {common}" if common else "",
                "who": ", ".join(sorted(stuck)),
            }
        )
    return rows


def summary_line(state: RoomState) -> str:
    """``room 'room': 3 learners, 17 verdicts, 2 stuck (run 1)``."""
    stuck = sum(1 for tried in state.learners.values() for attempt in tried.values() if not attempt.passed)
    return (
        f"room {state.name!r}: {len(state.learners)} learner(s), {state.verdicts} verdict(s), "
        f"{stuck} stuck, continued as new {state.runs} time(s)"
    )
