"""A run's event history as plain records: what notebooks, diagrams and plots read.

This is the one module that reads Temporal's protobuf events. Each kind of event has
one entry in ``_DECODE`` naming the fields that matter, and :func:`events` turns a
history into :class:`Event` records; tables, diagrams (:mod:`saga_lab.diagrams`) and
plots (:mod:`saga_lab.plots`) build on those records and never decode an event again.

Temporal keeps one ``ActivityTaskStarted`` per activity (its last attempt, with the
attempt number and the previous attempt's failure), so :class:`ActivityRun` says how
many attempts a step took and how the last one ended.

:func:`facts` condenses a whole run into :class:`RunFacts`: the questions exercise checks
(and live views) ask of a run, answered from its history alone: which activities were
scheduled in what order, with which inputs (idempotency keys), how many attempts each
took, which failed and with what type, whether an undo was scheduled for a step the
service refused, the timers, and the workflow-task failures (a bug in workflow code).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType, RetryState, TimeoutType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHistory

from .config import COMPENSATIONS, UNDO
from .failures import failure_message
from .services.errors import NON_RETRYABLE_ERROR_TYPES


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
    #: The innermost failure's type: an ``ApplicationError``'s type (``PaymentDeclined``,
    #: ``NameError``), ``StartToCloseTimeout`` and the like, ``Cancelled`` or ``Terminated``.
    failure_type: str = ""
    #: Why Temporal stopped retrying an activity (``MAXIMUM_ATTEMPTS_REACHED``,
    #: ``NON_RETRYABLE_FAILURE``, ``TIMEOUT``...), on its ``Failed`` / ``TimedOut`` event.
    retry_state: str = ""
    #: The id later events refer back to: an activity's, a timer's or an update's.
    key: str = ""
    #: A timer's duration.
    seconds: float | None = None
    #: Why, in the words of who said it: a cancel request's cause, a termination's reason,
    #: a failed workflow's or workflow task's own (outermost) failure message.
    reason: str = ""
    #: The JSON payload, decoded: the workflow's input or result, an activity's input or
    #: result, an update's argument, a workflow failure's details (None when there is
    #: none, or it is not JSON).
    value: Any = field(default=None, compare=False, repr=False)
    #: The stack trace a failure carries (a workflow task's failure: where the code raised).
    stack: str = field(default="", compare=False, repr=False)
    #: Why a workflow task failed, as the server says it (``WORKER_UNHANDLED_FAILURE``: the code
    #: raised; ``UNHANDLED_COMMAND``: a new event came in while the task ran, and it is retried).
    cause: str = ""

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
    #: The failure of the attempt before the last one, when there were retries, and its type.
    retried_after: str | None = None
    retried_after_type: str | None = None
    scheduled_event_id: int = 0
    #: The activity's (first) argument as scheduled, decoded from JSON (a dict for a dataclass).
    input: Any = field(default=None, compare=False, repr=False)
    #: What it returned, when it completed.
    result: Any = field(default=None, compare=False, repr=False)
    #: The type of its last failure (see :attr:`Event.failure_type`).
    failure_type: str | None = None
    #: Why Temporal stopped retrying it (see :attr:`Event.retry_state`).
    retry_state: str | None = None

    @property
    def key(self) -> str | None:
        """The idempotency key of its input, when the input has one."""
        return self.input.get("idempotency_key") if isinstance(self.input, dict) else None


# ------------------------------------------------------------------ decoding, one entry per kind


def _kind(event) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled`` (the Web UI's spelling)."""
    name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


def _failure(attrs, name: str = "failure") -> str | None:
    return failure_message(getattr(attrs, name)) if attrs.HasField(name) else None


#: A failure's kind of info -> how its type is named when it is not an application error's.
_FAILURE_KINDS = {
    "canceled_failure_info": "Cancelled",
    "terminated_failure_info": "Terminated",
    "server_failure_info": "ServerFailure",
}


def failure_type(failure) -> str:
    """The innermost failure's type: ``PaymentDeclined``, ``NameError``, ``StartToCloseTimeout``, ``Cancelled``..."""
    while failure.HasField("cause"):
        failure = failure.cause
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type
    if failure.HasField("timeout_failure_info"):
        name = TimeoutType.Name(failure.timeout_failure_info.timeout_type).removeprefix("TIMEOUT_TYPE_")
        return "".join(part.capitalize() for part in name.split("_")) + "Timeout"
    return next((kind for info, kind in _FAILURE_KINDS.items() if failure.HasField(info)), "")


def _failed(attrs, **fields) -> dict:
    """A failure's message, type and (for activities) why retrying stopped."""
    if not attrs.HasField("failure"):
        return fields
    out = {"failure": _failure(attrs), "failure_type": failure_type(attrs.failure), **fields}
    if hasattr(attrs, "retry_state") and attrs.retry_state:
        out["retry_state"] = RetryState.Name(attrs.retry_state).removeprefix("RETRY_STATE_")
    return out


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
    "WorkflowTaskFailed": lambda a: _failed(
        a,
        reason=a.failure.message,
        stack=a.failure.stack_trace,
        cause=WorkflowTaskFailedCause.Name(a.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_"),
    ),
    "ActivityTaskScheduled": lambda a: {
        "name": a.activity_type.name,
        "task_queue": a.task_queue.name,
        "key": a.activity_id,
        "value": _json(a.input),
    },
    "ActivityTaskStarted": lambda a: _of_activity(
        a,
        attempt=a.attempt,
        failure=_failure(a, "last_failure"),
        failure_type=failure_type(a.last_failure) if a.HasField("last_failure") else "",
    ),
    "ActivityTaskCompleted": lambda a: _of_activity(a, value=_json(a.result)),
    "ActivityTaskFailed": lambda a: _of_activity(a, **_failed(a)),
    "ActivityTaskTimedOut": lambda a: _of_activity(a, **_failed(a)),
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
            runs[e.event_id] = ActivityRun(
                e.key, e.name, e.task_queue, e.time, scheduled_event_id=e.event_id, input=e.value
            )
            continue
        run, outcome = runs.get(e.scheduled_event_id), _OUTCOME.get(e.kind)
        if run is None or outcome is None:
            continue
        run.outcome = outcome
        if e.kind == "ActivityTaskStarted":
            run.started_at, run.attempts = e.time, e.attempt
            run.retried_after, run.retried_after_type = e.failure, e.failure_type or None
            continue
        run.closed_at = e.time
        if e.kind == "ActivityTaskCompleted":
            run.result = e.value
        if e.failure is not None:
            run.failure, run.failure_type, run.retry_state = e.failure, e.failure_type, e.retry_state or None
        if e.kind == "ActivityTaskTimedOut" and run.attempts == 0:
            run.attempts = 1  # timed out before any attempt started (schedule-to-start)
    return list(runs.values())


def activities(history: WorkflowHistory) -> list[ActivityRun]:
    """Each activity the workflow scheduled, in the order it was scheduled."""
    return activity_runs(events(history))


# ------------------------------------------------------------------ a run's facts, as checks ask about them

#: How a run stands after its last event (RUNNING when no closing event is there yet).
_CLOSED = {
    "WorkflowExecutionCompleted": "COMPLETED",
    "WorkflowExecutionFailed": "FAILED",
    "WorkflowExecutionCanceled": "CANCELED",
    "WorkflowExecutionTerminated": "TERMINATED",
    "WorkflowExecutionTimedOut": "TIMED_OUT",
    "WorkflowExecutionContinuedAsNew": "CONTINUED_AS_NEW",
}
#: Each forward step of the saga by the undo that reverses it.
_STEP_OF_UNDO = {undo: step for step, undo in UNDO.items()}


@dataclass
class RunFacts:
    """What one run's history shows: its activities, timers, failures and how it stands."""

    workflow: str
    #: RUNNING, or how the run closed: COMPLETED, FAILED, CANCELED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW.
    status: str
    #: The run's input and result (decoded JSON), its failure's innermost message and its own (outermost) one.
    input: Any = field(default=None, repr=False)
    result: Any = field(default=None, repr=False)
    failure: str | None = None
    reason: str | None = None
    #: When the run started (its first event), as the server's clock said.
    started_at: datetime | None = None
    activities: list[ActivityRun] = field(default_factory=list)
    #: Every timer the workflow started, in seconds, in order; those not yet fired or cancelled.
    timers: list[float] = field(default_factory=list)
    pending_timers: list[float] = field(default_factory=list)
    #: Every workflow-task failure of the workflow's own code: it raised (a bug) or broke determinism.
    #: The server's own (:data:`RETRIED_BY_THE_SERVER`) are left out: the task is retried and goes on;
    #: so is a deadlock (:data:`DEADLOCK`) that a later workflow task got past (a busy machine).
    task_failures: list[Event] = field(default_factory=list)
    #: For a run still open: what it waits for, in words (filled in by whoever waited for it).
    waiting_for: str = ""

    @property
    def surely_broken(self) -> bool:
        """A task failure that is the code's for sure: any but a deadlock the run may yet get past."""
        return any(not is_deadlock(event) for event in self.task_failures)

    @property
    def scheduled(self) -> list[str]:
        """The activities' names, in the order the workflow scheduled them."""
        return [run.name for run in self.activities]

    def of(self, name: str) -> list[ActivityRun]:
        """The activities called ``name``, in order (one per scheduling; retries are attempts of one)."""
        return [run for run in self.activities if run.name == name]

    @property
    def refused(self) -> list[ActivityRun]:
        """Activities that failed with a service's business error (it guarantees it wrote nothing)."""
        return [run for run in self.activities if run.failure_type in NON_RETRYABLE_ERROR_TYPES]

    @property
    def undos(self) -> list[ActivityRun]:
        """The compensations the workflow scheduled, in the order it scheduled them."""
        return [run for run in self.activities if run.name in COMPENSATIONS]

    def undos_of_refused(self) -> list[tuple[ActivityRun, ActivityRun]]:
        """(step, undo) for each undo scheduled for a step that the service refused, and that never succeeded."""
        done = {run.name for run in self.activities if run.outcome == "completed"}
        refused = {run.name: run for run in self.refused if run.name not in done}
        return [(refused[_STEP_OF_UNDO[undo.name]], undo) for undo in self.undos if _STEP_OF_UNDO[undo.name] in refused]


#: Workflow-task failures that say nothing about the code: the server refused the task's commands
#: because something happened meanwhile (a cancel, a signal or an update arrived as the run completed,
#: a sticky worker went away), and the task is run again with the news.
RETRIED_BY_THE_SERVER = frozenset(
    {
        "UNHANDLED_COMMAND",
        "UNHANDLED_UPDATE",
        "RESET_STICKY_TASK_QUEUE",
        "FORCE_CLOSE_COMMAND",
        "FAILOVER_CLOSE_COMMAND",
        "RESET_WORKFLOW",
        "WORKFLOW_PAUSE_REQUESTED_BEFORE_TASK_STARTED",
    }
)
#: The SDK's deadlock detector (TMPRL1101): a workflow task that did not yield within 2 s. Code that
#: blocks meets it on every try; a sound workflow on a busy machine can meet it once (its first task
#: imports through the sandbox), and its next try goes on. Only one the run never got past counts.
DEADLOCK = "Potential deadlock detected"


def is_deadlock(event: Event) -> bool:
    return DEADLOCK in f"{event.failure} {event.reason}"


def _code_failures(records: list[Event]) -> list[Event]:
    """The workflow-task failures of the code: not the server's, not a deadlock a later task got past."""
    last_completed = max((e.event_id for e in records if e.kind == "WorkflowTaskCompleted"), default=0)
    return [
        e
        for e in records
        if e.kind == "WorkflowTaskFailed"
        and e.cause not in RETRIED_BY_THE_SERVER
        and not (is_deadlock(e) and e.event_id < last_completed)
    ]


def run_facts(records: list[Event]) -> RunFacts:
    """:class:`RunFacts` from a run's records (:func:`events`)."""
    first, last = records[0], records[-1]
    closed = last.kind if last.kind in _CLOSED else None
    timers = {e.key: e.seconds or 0.0 for e in records if e.kind == "TimerStarted"}
    ended = {e.key for e in records if e.kind in ("TimerFired", "TimerCanceled")}
    return RunFacts(
        workflow=first.name,
        status=_CLOSED.get(last.kind, "RUNNING"),
        input=first.value,
        result=last.value if closed == "WorkflowExecutionCompleted" else None,
        failure=last.failure if closed == "WorkflowExecutionFailed" else None,
        reason=last.reason if closed == "WorkflowExecutionFailed" else None,
        started_at=first.time,
        activities=activity_runs(records),
        timers=list(timers.values()),
        pending_timers=[seconds for key, seconds in timers.items() if key not in ended],
        task_failures=_code_failures(records),
    )


def facts(history: WorkflowHistory) -> RunFacts:
    """What ``history`` shows, as :class:`RunFacts`."""
    return run_facts(events(history))


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
