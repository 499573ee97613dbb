"""The capstone's check: run a trip saga through a fault matrix and say, per case, PASS or what is wrong.

``await check_trip_saga(client, TripSagaWorkflow)`` starts an in-kernel worker for the
given workflow class and the trip's activities, runs every case of :data:`CASES` at
once against the real server, and returns one :class:`CaseResult` per case. It runs
the same on the practice module and on the solution (and in ``tests/test_capstone.py``).

Each case is judged on evidence outside the workflow's own word: the store's journal
(which undos really cancelled something, in which order), what is still booked, and
how Temporal says the run ended.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Worker

from .trip_activities import ACTIVITIES, STORE, TRIP_TASK_QUEUE, TripInput

#: A case that has not ended after this long is reported (and its run terminated).
CASE_TIMEOUT_S = 15.0
#: How long the "cancelled while waiting" trip would wait if nobody cancelled it.
WAIT_SECONDS = 30.0

ALL = ["flight", "hotel", "car"]


@dataclass(frozen=True)
class Case:
    name: str
    slug: str
    faults: dict[str, str] = field(default_factory=dict)
    #: The undos that must really cancel something, in this order.
    undone: list[str] = field(default_factory=list)
    #: What must still be booked at the end.
    booked: list[str] = field(default_factory=list)
    #: How Temporal must say the run ended ("COMPLETED", "CANCELED", "FAILED: CompensationFailed");
    #: None: not judged (a refused trip may end FAILED, or COMPLETED if your workflow says so in its result).
    status: str | None = None
    #: Cancel the workflow (Temporal's cancellation) while it waits between hotel and car.
    cancel_while_waiting: bool = False


CASES = [
    Case("all booked", "happy", {}, [], ALL, "COMPLETED"),
    Case("flight refused", "flight-refused", {"book_flight": "permanent"}, [], []),
    Case("hotel refused", "hotel-refused", {"book_hotel": "permanent"}, ["cancel_flight"], []),
    Case("car refused", "car-refused", {"book_car": "permanent"}, ["cancel_hotel", "cancel_flight"], []),
    Case("flight busy twice", "flight-busy", {"book_flight": "transient:2"}, [], ALL, "COMPLETED"),
    Case("hotel busy twice", "hotel-busy", {"book_hotel": "transient:2"}, [], ALL, "COMPLETED"),
    Case("car busy twice", "car-busy", {"book_car": "transient:2"}, [], ALL, "COMPLETED"),
    Case(
        "car refused, cancel_hotel busy twice",
        "cancel-hotel-busy",
        {"book_car": "permanent", "cancel_hotel": "transient:2"},
        ["cancel_hotel", "cancel_flight"],
        [],
    ),
    Case(
        "car refused, cancel_hotel refused",
        "cancel-hotel-refused",
        {"book_car": "permanent", "cancel_hotel": "permanent"},
        ["cancel_flight"],
        ["hotel"],
        "FAILED: CompensationFailed",
    ),
    Case(
        "cancelled while waiting",
        "cancelled",
        {},
        ["cancel_hotel", "cancel_flight"],
        [],
        "CANCELED",
        cancel_while_waiting=True,
    ),
]


@dataclass
class CaseResult:
    name: str
    ok: bool
    #: What is wrong, in one line ("" when the case passes).
    problem: str
    undone: list[str]
    booked: list[str]
    status: str

    def __str__(self) -> str:
        return f"PASS     {self.name}" if self.ok else f"NOT YET  {self.name}: {self.problem}"


def trip_worker(client: Client, workflow_cls: type, task_queue: str = TRIP_TASK_QUEUE) -> Worker:
    """A worker for the trip's workflow and activities (``async with trip_worker(...):``)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[workflow_cls],
        activities=ACTIVITIES,
        graceful_shutdown_timeout=timedelta(seconds=0),
    )


async def start_trip(
    client: Client, workflow_cls: type, trip: TripInput, task_queue: str = TRIP_TASK_QUEUE
) -> WorkflowHandle:
    """Start a trip from scratch: its store entry is cleared and an earlier run with its id is replaced."""
    STORE.reset(trip.trip_id)
    return await client.start_workflow(
        workflow_cls.run,
        trip,
        id=trip.trip_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.TERMINATE_EXISTING,
    )


async def end_status(handle: WorkflowHandle) -> str:
    """How the run ended: "COMPLETED", "CANCELED", or "FAILED: <error type>"."""
    try:
        await handle.result()
        return "COMPLETED"
    except WorkflowFailureError as failure:
        cause = failure.cause
        if isinstance(cause, CancelledError):
            return "CANCELED"
        if isinstance(cause, ApplicationError) and cause.type:
            return f"FAILED: {cause.type}"
        return f"FAILED: {type(cause).__name__}"


async def _wait_until_waiting(handle: WorkflowHandle, timeout: float = 10.0) -> None:
    """Until the workflow has started its wait (a timer), or has ended, or ``timeout`` passed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        async for event in handle.fetch_history_events():
            if (
                event.HasField("timer_started_event_attributes")
                or event.HasField("workflow_execution_completed_event_attributes")
                or event.HasField("workflow_execution_failed_event_attributes")
            ):
                return
        await asyncio.sleep(0.1)


def _say(steps: list[str]) -> str:
    return " then ".join(steps) if steps else "nothing undone"


async def run_case(
    client: Client, workflow_cls: type, case: Case, prefix: str, task_queue: str = TRIP_TASK_QUEUE
) -> CaseResult:
    """Run one case (a worker must be running) and judge it."""
    trip = TripInput(f"{prefix}-{case.slug}", dict(case.faults), WAIT_SECONDS if case.cancel_while_waiting else 0.0)
    handle = await start_trip(client, workflow_cls, trip, task_queue)
    if case.cancel_while_waiting:
        await _wait_until_waiting(handle)
        await handle.cancel()
    try:
        status = await asyncio.wait_for(end_status(handle), CASE_TIMEOUT_S)
    except TimeoutError:
        await handle.terminate("the capstone check gave up waiting")
        status = f"still running after {CASE_TIMEOUT_S:g} s"
    undone = [entry for entry in STORE.journal(trip.trip_id) if entry.startswith("cancel_")]
    booked = STORE.booked(trip.trip_id)
    problems = []
    if undone != case.undone:
        problems.append(f"expected {_say(case.undone)}, got {undone}")
    elif booked != case.booked:
        problems.append(f"expected {case.booked or 'nothing'} still booked, got {booked}")
    if case.status is not None and status != case.status:
        problems.append(f"expected the run to end {case.status}, got {status}")
    return CaseResult(case.name, not problems, "; ".join(problems), undone, booked, status)


async def check_trip_saga(
    client: Client,
    workflow_cls: type,
    prefix: str = "nb11",
    cases: list[Case] | None = None,
    task_queue: str = TRIP_TASK_QUEUE,
) -> list[CaseResult]:
    """Run every case against ``workflow_cls`` with an in-kernel worker; one result per case, in order."""
    async with trip_worker(client, workflow_cls, task_queue):
        return list(
            await asyncio.gather(
                *(run_case(client, workflow_cls, case, prefix, task_queue) for case in (cases or CASES))
            )
        )
