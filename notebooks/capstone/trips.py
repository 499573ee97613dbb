"""Running one trip from a notebook cell or a check: a worker, the trip started, how it ended.

Given, like ``trip_activities.py``: nothing to change here. Each call runs the trip on a
fresh task queue of its own, so a rerun, or a second kernel, never meets an earlier worker.
A trip is judged from outside the workflow: how Temporal says the run ended, what the
workflow returned, and the store's journal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio.client import Client, WorkflowHandle

from checks import support
from saga_lab.checkout import terminate_if_running
from saga_lab.connection import workflow_id
from saga_lab.history import RunFacts

from .trip_activities import ACTIVITIES, STORE, TripInput

#: A trip that has not ended after this long is stopped (terminated) and reported.
TRIP_TIMEOUT_S = 15.0

#: Something a trip waits for before it is cancelled through Temporal (``handle.cancel()``).
CancelWhen = Callable[[WorkflowHandle, TripInput], Awaitable[None]]


@dataclass
class TripOutcome:
    """How a trip ended, judged from outside the workflow: Temporal's word, the workflow's, the store's."""

    trip_id: str
    #: How Temporal says the run ended: COMPLETED, FAILED, CANCELED, TERMINATED, or RUNNING (still open: stopped).
    run: str
    #: When the run completed: the trip's own status, ``TripResult.status`` (COMPLETED or COMPENSATED).
    trip: str = ""
    #: Why: the failure of a FAILED run, the error a COMPENSATED trip gives, what an open run waited for.
    error: str = ""
    #: What happened in the store, in order: book_* and the cancel_* that cancelled something.
    journal: list[str] = field(default_factory=list)
    #: What is still booked at the end.
    booked: list[str] = field(default_factory=list)
    #: The run's history, as facts (None when the run could not be read).
    facts: RunFacts | None = field(default=None, repr=False)

    @property
    def ending(self) -> str:
        """``COMPLETED, the trip COMPENSATED``, ``FAILED``, ``CANCELED``...: how the run and the trip ended."""
        if self.run != "COMPLETED":
            return self.run
        return f"{self.run}, the trip {self.trip or 'says nothing of how it ended'}"

    def __str__(self) -> str:
        error = f" ({self.error})" if self.error else ""
        return (
            f"{self.trip_id}: the run ended {self.ending}{error}\n"
            f"  journal: {', '.join(self.journal) or 'nothing'}\n"
            f"  still booked: {', '.join(self.booked) or 'nothing'}"
        )


def trip_task_queue(client: Client) -> str:
    """A task queue for one run of trips (behind the learner's prefix on a shared server)."""
    return support.queue_name(client, support.fresh_id("trip-task-queue"))


def trip_worker(client: Client, workflow_cls: type, task_queue: str, **worker_options):
    """A worker for a trip workflow and the six trip activities (``async with trip_worker(...):``)."""
    return support.kernel_worker(client, task_queue, workflows=[workflow_cls], activities=ACTIVITIES, **worker_options)


async def start_trip(client: Client, workflow_cls: type, trip: TripInput, task_queue: str) -> WorkflowHandle:
    """Start the trip's workflow; its id is the trip id (behind the learner's prefix on a shared server)."""
    STORE.reset(trip.trip_id)
    return await client.start_workflow(
        workflow_cls.run, trip, id=workflow_id(client, trip.trip_id), task_queue=task_queue
    )


async def while_waiting(handle: WorkflowHandle, trip: TripInput, timeout_s: float = 10.0) -> None:
    """Until the workflow has started a timer (its wait for the car), or has ended."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while asyncio.get_running_loop().time() < deadline:
        async for event in handle.fetch_history_events():
            if (
                event.HasField("timer_started_event_attributes")
                or event.HasField("workflow_execution_completed_event_attributes")
                or event.HasField("workflow_execution_failed_event_attributes")
            ):
                return
        await asyncio.sleep(0.1)


async def once_the_car_is_booked(handle: WorkflowHandle, trip: TripInput, timeout_s: float = 10.0) -> None:
    """Until the car is booked in the store (its reply may not have reached the workflow yet)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while "car" not in STORE.booked(trip.trip_id) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)


async def follow_trip(
    client: Client, workflow_cls: type, trip: TripInput, task_queue: str, *, cancel_when: CancelWhen | None = None
) -> TripOutcome:
    """Start one trip (a worker must poll ``task_queue``), cancel it when ``cancel_when`` returns, judge its end.

    A workflow task that fails (a bug in the workflow's code) raises :class:`checks.support.NotYet` at once,
    with its one line.
    """
    handle = await start_trip(client, workflow_cls, trip, task_queue)
    try:
        if cancel_when is not None:
            await cancel_when(handle, trip)
            await handle.cancel()
        facts = await support.finish(handle, TRIP_TIMEOUT_S, f"trip {trip.trip_id}")
    finally:
        await terminate_if_running(handle, "the trip's check is done with this run")
    if facts.status == "RUNNING":
        error = f"stopped after {TRIP_TIMEOUT_S:g} s; it was waiting for {facts.waiting_for}"
        trip_status = ""
    elif facts.status == "COMPLETED":
        result = facts.result if isinstance(facts.result, dict) else {}
        trip_status, error = str(result.get("status") or ""), str(result.get("error") or "")
    else:  # the workflow's own words when it raised them (a person is needed), else what failed inside
        own = facts.reason and not facts.reason.startswith(("Activity task", "Child Workflow"))
        trip_status, error = "", (facts.reason if own else facts.failure) or ""
    return TripOutcome(
        trip.trip_id, facts.status, trip_status, error, STORE.journal(trip.trip_id), STORE.booked(trip.trip_id), facts
    )


async def run_trip(client: Client, workflow_cls: type, trip: TripInput, *, cancel_when: CancelWhen | None = None):
    """Run one trip with its own worker, from start to end: what a notebook cell calls.

    Returns the :class:`TripOutcome`, or the one line that says why the workflow's code could not run.
    """
    task_queue = trip_task_queue(client)
    try:
        with support.quiet("temporalio.worker"):  # a failing workflow task's traceback: said once, below
            async with trip_worker(client, workflow_cls, task_queue):
                return await follow_trip(client, workflow_cls, trip, task_queue, cancel_when=cancel_when)
    except support.NotYet as bug:
        return f"{trip.trip_id}: {bug}"
