"""Running one trip from a notebook cell or a check: a worker, the trip started, how it ended.

Given, like ``trip_activities.py``: nothing to change here. Each call runs the trip on a
fresh task queue of its own, so a rerun, or a second kernel, never meets an earlier worker.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Worker

from saga_lab import connection
from saga_lab.checkout import terminate_if_running
from saga_lab.connection import workflow_id
from saga_lab.failures import root_message

from .trip_activities import ACTIVITIES, STORE, TripInput

#: A trip that has not ended after this long is stopped (terminated) and reported.
TRIP_TIMEOUT_S = 15.0


@dataclass
class TripOutcome:
    """How a trip ended, judged from outside the workflow: Temporal's word and the store's."""

    trip_id: str
    #: "COMPLETED", "CANCELED", "FAILED: <error type>", or "still running after 15 s".
    status: str
    #: The innermost error message when the run failed.
    error: str = ""
    #: What happened in the store, in order: book_* and the cancel_* that cancelled something.
    journal: list[str] = field(default_factory=list)
    #: What is still booked at the end.
    booked: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        error = f" ({self.error})" if self.error else ""
        return (
            f"{self.trip_id}: {self.status}{error}\n"
            f"  journal: {', '.join(self.journal) or 'nothing'}\n"
            f"  still booked: {', '.join(self.booked) or 'nothing'}"
        )


def trip_task_queue(client: Client) -> str:
    """A task queue for one run of trips (behind the learner's prefix on a shared server)."""
    return connection.task_queue(client, f"trip-task-queue-{uuid.uuid4().hex[:6]}")


def trip_worker(client: Client, workflow_cls: type, task_queue: str, **worker_options) -> Worker:
    """A worker for a trip workflow and the six trip activities (``async with trip_worker(...):``)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[workflow_cls],
        activities=ACTIVITIES,
        graceful_shutdown_timeout=timedelta(seconds=0),
        **worker_options,
    )


async def start_trip(client: Client, workflow_cls: type, trip: TripInput, task_queue: str) -> WorkflowHandle:
    """Start the trip's workflow; its id is the trip id (behind the learner's prefix on a shared server)."""
    STORE.reset(trip.trip_id)
    return await client.start_workflow(
        workflow_cls.run, trip, id=workflow_id(client, trip.trip_id), task_queue=task_queue
    )


async def end_status(handle: WorkflowHandle) -> tuple[str, str]:
    """How the run ended ("COMPLETED", "CANCELED" or "FAILED: <error type>"), and the innermost error message."""
    try:
        await handle.result()
        return "COMPLETED", ""
    except WorkflowFailureError as failure:
        cause = failure.cause
        if isinstance(cause, CancelledError):
            return "CANCELED", ""
        kind = cause.type if isinstance(cause, ApplicationError) and cause.type else type(cause).__name__
        return f"FAILED: {kind}", root_message(cause)


async def wait_until_waiting(handle: WorkflowHandle, timeout_s: float = 10.0) -> None:
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


async def follow_trip(
    client: Client, workflow_cls: type, trip: TripInput, task_queue: str, *, cancel_while_waiting: bool = False
) -> TripOutcome:
    """Start one trip (a worker must poll ``task_queue``), cancel it while it waits if asked, and judge its end."""
    handle = await start_trip(client, workflow_cls, trip, task_queue)
    if cancel_while_waiting:
        await wait_until_waiting(handle)
        await handle.cancel()
    try:
        status, error = await asyncio.wait_for(end_status(handle), TRIP_TIMEOUT_S)
    except TimeoutError:
        if await terminate_if_running(handle, "the trip did not end in time"):
            status, error = f"still running after {TRIP_TIMEOUT_S:g} s (terminated; workflow id {handle.id})", ""
        else:  # it ended just now
            status, error = await end_status(handle)
    return TripOutcome(trip.trip_id, status, error, STORE.journal(trip.trip_id), STORE.booked(trip.trip_id))


async def run_trip(
    client: Client, workflow_cls: type, trip: TripInput, *, cancel_while_waiting: bool = False
) -> TripOutcome:
    """Run one trip with its own worker, from start to end: what a notebook cell calls."""
    task_queue = trip_task_queue(client)
    async with trip_worker(client, workflow_cls, task_queue):
        return await follow_trip(client, workflow_cls, trip, task_queue, cancel_while_waiting=cancel_while_waiting)
