"""A run's event history as plain records: what notebooks, diagrams and plots read.

This is the one module that reads Temporal's protobuf events. Each kind of event has
one entry in ``_DECODE`` naming the fields that matter, and :func:`events` turns a
history into :class:`Event` records; tables, diagrams (:mod:`saga_lab.diagrams`) and
plots (:mod:`saga_lab.plots`) build on those records and never decode an event again.

Temporal keeps one ``ActivityTaskStarted`` per activity (its last attempt, with the
attempt number and the previous attempt's failure), so :class:`ActivityRun` says how
many attempts a step took and how the last one ended.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from .failures import failure_message


@dataclass(frozen=True)
class Event:
    """One history event: its kind and the few fields that kind carries, already decoded."""

    event_id: int
    time: datetime
    kind: str
    #: What the event names: the workflow's or activity's type, a signal, an update.
    name: str = ""
    #: The workflow's task queue (on ``WorkflowExecutionStarted``) or the activity's.
    task_queue: str = ""
    #: For every event of an activity: the id of its ``ActivityTaskScheduled`` event.
    scheduled_event_id: int = 0
    #: The attempt an ``ActivityTaskStarted`` is (Temporal records the last one only).
    attempt: int = 0
    #: The innermost failure message, when the event carries a failure. On
    #: ``ActivityTaskStarted`` it is the failure of the attempt before (a retry).
    failure: str | None = None
    #: The id later events refer back to: an activity's, a timer's or an update's.
    key: str = ""
    #: A timer's duration.
    seconds: float | None = None
    #: Why, in the words of who said it: a cancel request's cause, a termination's reason,
    #: a failed workflow's or workflow task's own (outermost) failure message.
    reason: str = ""
    #: The JSON payload, decoded: the workflow's input or result, an update's argument,
    #: a workflow failure's details (None when there is none, or it is not JSON).
    value: Any = field(default=None, compare=False, repr=False)

    @property
    def detail(self) -> str:
        """The event in a few words, as :func:`event_table` shows it."""
        describe = _DETAIL.get(self.kind)
        return describe(self) if describe else ""


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


# ------------------------------------------------------------------ decoding, one entry per kind


def _kind(event) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled`` (the Web UI's spelling)."""
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def _failure(attrs, name: str = "failure") -> str | None:
    return failure_message(getattr(attrs, name)) if attrs.HasField(name) else None


def _json(payloads) -> Any:
    """The first payload of a ``Payloads`` message, decoded when it is JSON; None otherwise."""
    try:
        payload = payloads.payloads[0]
        if payload.metadata.get("encoding", b"") == b"json/plain":
            return json.loads(payload.data)
    except (IndexError, AttributeError, ValueError):
        pass
    return None


def _workflow_failed(attrs) -> dict:
    details = attrs.failure.application_failure_info.details
    return {
        "failure": _failure(attrs),
        "reason": attrs.failure.message,
        "value": _json(details) if attrs.failure.HasField("application_failure_info") else None,
    }


def _of_activity(attrs, **fields) -> dict:
    return {"scheduled_event_id": attrs.scheduled_event_id, **fields}


#: Kind -> the fields of :class:`Event` read from the event's attributes. Kinds not
#: listed (workflow tasks, markers, search attributes) carry only id, time and kind.
_DECODE: dict[str, Callable[[Any], dict]] = {
    "WorkflowExecutionStarted": lambda a: {
        "name": a.workflow_type.name,
        "task_queue": a.task_queue.name,
        "value": _json(a.input),
    },
    "WorkflowExecutionCompleted": lambda a: {"value": _json(a.result)},
    "WorkflowExecutionFailed": _workflow_failed,
    "WorkflowExecutionTerminated": lambda a: {"reason": a.reason},
    "WorkflowExecutionCancelRequested": lambda a: {"reason": a.cause},
    "WorkflowExecutionSignaled": lambda a: {"name": a.signal_name},
    "WorkflowExecutionUpdateAccepted": lambda a: {
        "name": a.accepted_request.input.name,
        "key": a.accepted_request.meta.update_id,
        "value": _json(a.accepted_request.input.args),
    },
    "WorkflowExecutionUpdateCompleted": lambda a: {"key": a.meta.update_id, "failure": _failure(a.outcome)},
    "WorkflowTaskFailed": lambda a: {"failure": _failure(a), "reason": a.failure.message},
    "ActivityTaskScheduled": lambda a: {
        "name": a.activity_type.name,
        "task_queue": a.task_queue.name,
        "key": a.activity_id,
    },
    "ActivityTaskStarted": lambda a: _of_activity(a, attempt=a.attempt, failure=_failure(a, "last_failure")),
    "ActivityTaskCompleted": _of_activity,
    "ActivityTaskFailed": lambda a: _of_activity(a, failure=_failure(a)),
    "ActivityTaskTimedOut": lambda a: _of_activity(a, failure=_failure(a)),
    "ActivityTaskCancelRequested": _of_activity,
    "ActivityTaskCanceled": _of_activity,
    "TimerStarted": lambda a: {"key": a.timer_id, "seconds": a.start_to_fire_timeout.ToTimedelta().total_seconds()},
    "TimerFired": lambda a: {"key": a.timer_id},
    "TimerCanceled": lambda a: {"key": a.timer_id},
}

#: Kind -> the one-line detail the history tables show.
_DETAIL: dict[str, Callable[[Event], str]] = {
    "WorkflowExecutionStarted": lambda e: f"{e.name} on {e.task_queue}",
    "WorkflowExecutionFailed": lambda e: e.failure or "",
    "WorkflowExecutionSignaled": lambda e: e.name,
    "WorkflowExecutionUpdateAccepted": lambda e: e.name,
    "ActivityTaskScheduled": lambda e: f"{e.name} on {e.task_queue}",
    "ActivityTaskStarted": lambda e: f"{e.name or '?'} attempt {e.attempt}",
    "ActivityTaskCompleted": lambda e: e.name or "?",
    "ActivityTaskFailed": lambda e: f"{e.name or '?'}: {e.failure or ''}",
    "ActivityTaskTimedOut": lambda e: f"{e.name or '?'}: {e.failure or ''}",
    "TimerStarted": lambda e: f"{e.seconds:g} s",
}


async def fetch(client: Client, workflow_id: str, run_id: str | None = None) -> WorkflowHistory:
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


def events(history: WorkflowHistory) -> list[Event]:
    """Every event as a record; an activity's later events carry its name and task queue too."""
    scheduled: dict[int, Event] = {}
    out = []
    for raw in history.events:
        kind = _kind(raw)
        decode = _DECODE.get(kind)
        fields = decode(getattr(raw, raw.WhichOneof("attributes"))) if decode else {}
        if kind == "ActivityTaskScheduled":
            fields["scheduled_event_id"] = raw.event_id
        elif fields.get("scheduled_event_id") in scheduled:
            first = scheduled[fields["scheduled_event_id"]]
            fields.update(name=first.name, task_queue=first.task_queue)
        event = Event(raw.event_id, raw.event_time.ToDatetime(UTC), kind, **fields)
        if kind == "ActivityTaskScheduled":
            scheduled[raw.event_id] = event
        out.append(event)
    return out


#: How an activity stands after each of its events.
_OUTCOME = {
    "ActivityTaskStarted": "running",
    "ActivityTaskCompleted": "completed",
    "ActivityTaskFailed": "failed",
    "ActivityTaskTimedOut": "timed out",
    "ActivityTaskCanceled": "cancelled",
}


def activity_runs(records: Iterable[Event]) -> list[ActivityRun]:
    """The activities in ``records`` (from :func:`events`), in the order they were scheduled."""
    runs: dict[int, ActivityRun] = {}
    for e in records:
        if e.kind == "ActivityTaskScheduled":
            runs[e.event_id] = ActivityRun(e.key, e.name, e.task_queue, e.time, scheduled_event_id=e.event_id)
            continue
        run, outcome = runs.get(e.scheduled_event_id), _OUTCOME.get(e.kind)
        if run is None or outcome is None:
            continue
        run.outcome = outcome
        if e.kind == "ActivityTaskStarted":
            run.started_at, run.attempts = e.time, e.attempt
            run.retried_after = e.failure
            continue
        run.closed_at = e.time
        if e.failure is not None:
            run.failure = e.failure
        if e.kind == "ActivityTaskTimedOut" and run.attempts == 0:
            run.attempts = 1  # timed out before any attempt started (schedule-to-start)
    return list(runs.values())


def activities(history: WorkflowHistory) -> list[ActivityRun]:
    """Each activity the workflow scheduled, in the order it was scheduled."""
    return activity_runs(events(history))


# ------------------------------------------------------------------ rows for saga_lab.notebook.Table


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
