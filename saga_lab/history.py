"""A run's event history as plain records: what notebooks, diagrams and plots read.

Temporal keeps one ``ActivityTaskStarted`` per activity (its last attempt, with the
attempt number and the previous attempt's failure), so the records here say how many
attempts a step took and how the last one ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory


@dataclass(frozen=True)
class Event:
    """One history event, in a line a learner can read."""

    event_id: int
    time: datetime
    kind: str
    detail: str = ""


@dataclass
class ActivityRun:
    """One activity (a step or a compensation) from scheduling to its end."""

    activity_id: str
    name: str
    task_queue: str
    scheduled_at: datetime
    started_at: datetime | None = None
    closed_at: datetime | None = None
    attempts: int = 0
    outcome: str = "scheduled"  # scheduled, running, completed, failed, timed out, cancelled
    failure: str | None = None
    #: The failure of the attempt before the last one, when there were retries.
    retried_after: str | None = None
    scheduled_event_id: int = 0
    input: Any = field(default=None, repr=False)


def _kind(event) -> str:
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def _time(event) -> datetime:
    return event.event_time.ToDatetime(UTC)


def _failure_message(failure) -> str:
    """The innermost message of a failure chain (the service's own words)."""
    message = failure.message
    while failure.HasField("cause"):
        failure = failure.cause
        message = failure.message or message
    return message


async def fetch(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def events(history: WorkflowHistory) -> list[Event]:
    """Every event with a one-line detail (activity names, failures, timers)."""
    names: dict[int, str] = {}
    out = []
    for event in history.events:
        kind = _kind(event)
        detail = ""
        if kind == "ActivityTaskScheduled":
            attrs = event.activity_task_scheduled_event_attributes
            names[event.event_id] = attrs.activity_type.name
            detail = f"{attrs.activity_type.name} on {attrs.task_queue.name}"
        elif kind == "ActivityTaskStarted":
            attrs = event.activity_task_started_event_attributes
            detail = f"{names.get(attrs.scheduled_event_id, '?')} attempt {attrs.attempt}"
        elif kind == "ActivityTaskCompleted":
            detail = names.get(event.activity_task_completed_event_attributes.scheduled_event_id, "?")
        elif kind == "ActivityTaskFailed":
            attrs = event.activity_task_failed_event_attributes
            detail = f"{names.get(attrs.scheduled_event_id, '?')}: {_failure_message(attrs.failure)}"
        elif kind == "ActivityTaskTimedOut":
            attrs = event.activity_task_timed_out_event_attributes
            detail = f"{names.get(attrs.scheduled_event_id, '?')}: {_failure_message(attrs.failure)}"
        elif kind == "WorkflowExecutionStarted":
            attrs = event.workflow_execution_started_event_attributes
            detail = f"{attrs.workflow_type.name} on {attrs.task_queue.name}"
        elif kind == "WorkflowExecutionFailed":
            detail = _failure_message(event.workflow_execution_failed_event_attributes.failure)
        elif kind == "TimerStarted":
            attrs = event.timer_started_event_attributes
            detail = f"{attrs.start_to_fire_timeout.ToTimedelta().total_seconds():g} s"
        elif kind == "WorkflowExecutionUpdateAccepted":
            detail = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        elif kind == "WorkflowExecutionSignaled":
            detail = event.workflow_execution_signaled_event_attributes.signal_name
        out.append(Event(event.event_id, _time(event), kind, detail))
    return out


def activities(history: WorkflowHistory) -> list[ActivityRun]:
    """Each activity the workflow scheduled, in the order it was scheduled."""
    runs: dict[int, ActivityRun] = {}
    for event in history.events:
        kind = _kind(event)
        if kind == "ActivityTaskScheduled":
            attrs = event.activity_task_scheduled_event_attributes
            runs[event.event_id] = ActivityRun(
                activity_id=attrs.activity_id,
                name=attrs.activity_type.name,
                task_queue=attrs.task_queue.name,
                scheduled_at=_time(event),
                scheduled_event_id=event.event_id,
            )
            continue
        closing = {
            "ActivityTaskStarted": (event.activity_task_started_event_attributes, "running"),
            "ActivityTaskCompleted": (event.activity_task_completed_event_attributes, "completed"),
            "ActivityTaskFailed": (event.activity_task_failed_event_attributes, "failed"),
            "ActivityTaskTimedOut": (event.activity_task_timed_out_event_attributes, "timed out"),
            "ActivityTaskCanceled": (event.activity_task_canceled_event_attributes, "cancelled"),
        }.get(kind)
        if closing is None:
            continue
        attrs, outcome = closing
        run = runs.get(attrs.scheduled_event_id)
        if run is None:
            continue
        run.outcome = outcome
        if kind == "ActivityTaskStarted":
            run.started_at = _time(event)
            run.attempts = attrs.attempt
            if attrs.HasField("last_failure"):
                run.retried_after = _failure_message(attrs.last_failure)
        else:
            run.closed_at = _time(event)
            if hasattr(attrs, "failure") and attrs.HasField("failure"):
                run.failure = _failure_message(attrs.failure)
            if kind == "ActivityTaskTimedOut" and run.attempts == 0:
                run.attempts = 1
    return list(runs.values())


def activity_table(history: WorkflowHistory) -> list[dict]:
    """Activities as rows for :class:`saga_lab.notebook.Table`."""
    return [
        {
            "activity": run.name,
            "task queue": run.task_queue,
            "attempts": run.attempts,
            "outcome": run.outcome,
            "failure": run.failure or (f"(retried after: {run.retried_after})" if run.retried_after else ""),
        }
        for run in activities(history)
    ]


def event_table(history: WorkflowHistory) -> list[dict]:
    """Events as rows (id, kind, detail) for :class:`saga_lab.notebook.Table`."""
    return [{"id": e.event_id, "event": e.kind, "detail": e.detail} for e in events(history)]
