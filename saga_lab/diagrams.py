"""A run's event history as a PlantUML sequence diagram, and the drawing helpers notebooks use.

:func:`history_to_plantuml` is a pure translation: the records of :mod:`saga_lab.history`
in, PlantUML text out, with one entry in ``_DRAW`` per kind of event. The text holds no
times or run ids, so the same history always gives the same text (the golden tests
compare it). Drawing it is :mod:`saga_lab.plantuml`'s job; the names notebooks use are
here as well::

    %load_ext saga_lab.diagrams          # then a cell starting with %%plantuml
    render_file("../diagrams/saga_design.puml")
    await diagram_for(client, "ORD-2")   # the saga as it ran, from its history
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Iterable

from .config import COMPENSATIONS, prefix_of, service_of, task_queue
from .history import ActivityRun, Event, activity_runs, events, fetch
from .plantuml import Diagram, draw, load_ipython_extension, render_file, render_files, show

__all__ = [
    "Diagram",
    "diagram_for",
    "history_diagram",
    "history_to_plantuml",
    "load_ipython_extension",
    "render_file",
    "render_files",
    "show",
]

#: The participants of a history diagram, left to right: the service whose task queue
#: each one stands for (matched by :func:`~saga_lab.config.service_of`, so any learner
#: prefix draws the same participants).
PARTICIPANTS = {"workflow": "Workflow", "payment": "Payment", "order": "Order", "shipping": "Shipping"}

#: Up to this many failed attempts get one arrow each; more are drawn as one "retried N times" arrow.
MAX_RETRY_ARROWS = 3

STEP_COLOR = "#1F5FA8"
COMPENSATION_COLOR = "#D9730D"
FAILURE_COLOR = "#C62828"
QUIET_COLOR = "#777777"


def _text(value: str, width: int = 60) -> str:
    """A message label PlantUML prints as written: creole markup escaped, long text wrapped."""
    value = " ".join(str(value).split())
    for markup in ("**", "//", "__", "--", '""', "<", "[["):
        value = value.replace(markup, "~" + markup)
    return "\\n".join(textwrap.wrap(value, width, break_on_hyphens=False)) or "-"


def _saga_summary(value: object) -> str:
    """``saga COMPENSATED (undone: cancel_order, refund)`` from an ``OrderResult``, when it is one."""
    if isinstance(value, dict) and "status" in value:
        compensations = value.get("compensations") or []
        undone = f" (undone: {', '.join(compensations)})" if compensations else ""
        return f"saga {value['status']}{undone}"
    return ""


def _input_note(value: object) -> str:
    """The saga's input in one line: faults, hold and deadline, when the input is an ``OrderInput``."""
    if not isinstance(value, dict):
        return ""
    parts = []
    faults = (value.get("faults") or {}).get("faults") if isinstance(value.get("faults"), dict) else None
    if faults:
        described = []
        for step, fault in faults.items():
            kind = fault.get("kind", "?")
            described.append(f"{step}={kind}" if kind == "permanent" else f"{step}={kind}:{fault.get('times', 1)}")
        parts.append("faults: " + ", ".join(described))
    if value.get("hold_seconds"):
        parts.append(f"hold {value['hold_seconds']:g} s")
    if value.get("parallel_compensation"):
        parts.append("parallel compensation")
    if value.get("deadline_seconds"):
        parts.append(f"deadline {value['deadline_seconds']:g} s")
    return "; ".join(parts)


def _alias(queue: str) -> str:
    return re.sub(r"\W", "_", queue)


# ------------------------------------------------------------------ the diagram being written


class _Sequence:
    """The lines written so far, and what earlier events said that later ones need."""

    def __init__(self, runs: dict[int, ActivityRun], who: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.runs = runs  # by scheduled event id
        self.who = who  # task queue -> participant
        self.in_flight: set[int] = set()
        self.timers: dict[str, str] = {}
        self.updates: dict[str, str] = {}
        self.compensating = False

    def arrow(
        self, src: str, dst: str, label: str, color: str | None = None, head: str = ">", dashed: bool = False
    ) -> None:
        shaft = "--" if dashed else "-"
        if color:
            shaft = f"-[{color}]{shaft[1:]}"
        body = head + shaft if head.startswith("<") else shaft + head
        left = "[" if src == "[" else f"{src} "
        self.lines.append(f"{left}{body} {dst} : {label}")

    def asked(self, label: str, color: str | None = None) -> None:
        """A request reaching the workflow from outside (a start, a signal, an update, a cancel)."""
        self.arrow("[", "Workflow", _text(label), color)

    def answered(self, label: str, color: str | None = None) -> None:
        """The workflow's answer to the outside (its end, an update's result)."""
        self.arrow("[", "Workflow", _text(label), color, "<", dashed=True)

    def timer(self, key: str, what: str) -> None:
        self.lines.append(" ".join(filter(None, ("hnote over Workflow : timer", self.timers.get(key), what))))


# ------------------------------------------------------------------ one entry per kind of event


def _workflow_started(seq: _Sequence, e: Event) -> None:
    seq.asked(f"start {e.name}")
    note = _input_note(e.value)
    if note:
        seq.lines.append(f"note right of Workflow : {_text(note)}")


def _activity_scheduled(seq: _Sequence, e: Event) -> None:
    """The request, after one arrow per failed attempt (Temporal keeps the last failure only)."""
    run = seq.runs[e.event_id]
    target = seq.who[run.task_queue]
    undo = run.name in COMPENSATIONS
    if undo and not seq.compensating:
        seq.compensating = True
        seq.lines.append("== compensation ==")
    retries = max(run.attempts - 1, 0)
    reason = run.retried_after or "failed"
    last_how = "timed out" if "timeout" in reason.lower() else "failed"
    if 0 < retries <= MAX_RETRY_ARROWS:
        for attempt in range(1, retries + 1):
            how = f"{last_how}, retried: {reason}" if attempt == retries else "failed, retried"
            seq.arrow("Workflow", target, _text(f"{run.name} attempt {attempt} {how}"), FAILURE_COLOR, ">x")
    elif retries > MAX_RETRY_ARROWS:
        label = f"{run.name} attempts 1-{retries} failed (retried {retries} times), the last: {reason}"
        seq.arrow("Workflow", target, _text(label), FAILURE_COLOR, ">x")
    label = run.name if run.attempts <= 1 else f"{run.name} (attempt {run.attempts})"
    seq.arrow("Workflow", target, _text(label), COMPENSATION_COLOR if undo else None)
    seq.in_flight.add(e.event_id)
    if run.outcome in ("scheduled", "running"):
        state = "not started yet" if run.outcome == "scheduled" else "still running"
        seq.lines.append(f"note over {target} : {_text(f'{run.name} {state}')}")


#: How an activity's reply reads.
_REPLY = {
    "ActivityTaskCompleted": "completed",
    "ActivityTaskCanceled": "cancelled",
    "ActivityTaskFailed": "failed",
    "ActivityTaskTimedOut": "timed out",
}


def _activity_replied(seq: _Sequence, e: Event) -> None:
    run = seq.runs.get(e.scheduled_event_id)
    if run is None:
        return
    # Name the activity in its reply only when others are in flight (parallel compensation).
    how = (f"{run.name} " if len(seq.in_flight) > 1 else "") + _REPLY[e.kind]
    seq.in_flight.discard(e.scheduled_event_id)
    if e.kind == "ActivityTaskCompleted":
        color = COMPENSATION_COLOR if run.name in COMPENSATIONS else None
    elif e.kind == "ActivityTaskCanceled":
        color = QUIET_COLOR
    else:
        color, how = FAILURE_COLOR, f"{how}: {e.failure}" if e.failure else how
    seq.arrow(seq.who[run.task_queue], "Workflow", _text(how), color, dashed=True)


def _activity_cancel_requested(seq: _Sequence, e: Event) -> None:
    run = seq.runs.get(e.scheduled_event_id)
    if run is not None:
        seq.arrow("Workflow", seq.who[run.task_queue], _text(f"cancel {run.name}"), QUIET_COLOR, ">o")


def _timer_started(seq: _Sequence, e: Event) -> None:
    seq.timers[e.key] = f"{e.seconds:g} s"
    seq.timer(e.key, "started")


def _update_accepted(seq: _Sequence, e: Event) -> None:
    seq.updates[e.key] = e.name
    shown = f"({json.dumps(e.value)})" if isinstance(e.value, (str, int, float)) else ""
    seq.asked(f"update {e.name}{shown} accepted")


def _update_completed(seq: _Sequence, e: Event) -> None:
    seq.answered(f"update {seq.updates.get(e.key, 'update')} {'completed' if e.failure is None else 'failed'}")


def _workflow_failed(seq: _Sequence, e: Event) -> None:
    summary = _saga_summary(e.value)
    seq.answered(f"failed: {summary + ': ' if summary else ''}{e.reason or 'no message'}", FAILURE_COLOR)


def _workflow_task_failed(seq: _Sequence, e: Event) -> None:
    label = _text(f"workflow task failed: {e.reason}")
    seq.lines.append(f"note over Workflow #FFEBEE : {label}")


def _with(words: str) -> str:
    return f": {words}" if words else ""


#: Kind -> how it is drawn. Kinds not listed (workflow tasks, markers, search attributes) are not drawn.
_DRAW: dict[str, Callable[[_Sequence, Event], None]] = {
    "WorkflowExecutionStarted": _workflow_started,
    "ActivityTaskScheduled": _activity_scheduled,
    **dict.fromkeys(_REPLY, _activity_replied),
    "ActivityTaskCancelRequested": _activity_cancel_requested,
    "TimerStarted": _timer_started,
    "TimerFired": lambda seq, e: seq.timer(e.key, "fired"),
    "TimerCanceled": lambda seq, e: seq.timer(e.key, "canceled"),
    "WorkflowExecutionSignaled": lambda seq, e: seq.asked(f"signal {e.name}"),
    "WorkflowExecutionUpdateAccepted": _update_accepted,
    "WorkflowExecutionUpdateCompleted": _update_completed,
    "WorkflowExecutionCancelRequested": lambda seq, e: seq.asked(f"cancel requested{_with(e.reason)}", FAILURE_COLOR),
    "WorkflowTaskFailed": _workflow_task_failed,
    "WorkflowExecutionCompleted": lambda seq, e: seq.answered(f"completed{_with(_saga_summary(e.value))}"),
    "WorkflowExecutionFailed": _workflow_failed,
    "WorkflowExecutionCanceled": lambda seq, e: seq.answered("canceled", QUIET_COLOR),
    "WorkflowExecutionTerminated": lambda seq, e: seq.answered(
        f"terminated{_with(e.reason)} (no compensation ran)", FAILURE_COLOR
    ),
    "WorkflowExecutionTimedOut": lambda seq, e: seq.answered("timed out (no compensation ran)", FAILURE_COLOR),
    "WorkflowExecutionContinuedAsNew": lambda seq, e: seq.answered("continued as new"),
}


# ------------------------------------------------------------------ history -> text


def _participants(workflow_queue: str, runs: Iterable[ActivityRun]) -> tuple[list[str], dict[str, str]]:
    """The participant lines, and the participant of each task queue: by service, any prefix."""
    who = {workflow_queue: PARTICIPANTS["workflow"]}
    seen: dict[str, str] = {"workflow": workflow_queue}
    extra = []
    for queue in dict.fromkeys(run.task_queue for run in runs):
        if queue in who:
            continue
        service = service_of(queue)
        if service is None:
            who[queue] = _alias(queue)
            extra.append(queue)
        else:
            who[queue] = PARTICIPANTS[service]
            seen.setdefault(service, queue)
    prefix = prefix_of(workflow_queue)
    lines = [
        f'participant "{name}\\n<size:10>{seen.get(service) or task_queue(service, prefix)}</size>" as {name}'
        for service, name in PARTICIPANTS.items()
    ]
    lines += [f'participant "{queue}" as {who[queue]}' for queue in extra]
    return lines, who


def history_to_plantuml(history, title: str | None = None) -> str:
    """A run's event history as a PlantUML sequence diagram (text).

    Participants are Workflow, Payment, Order and Shipping (found by the service of each
    task queue, whatever the learner prefix). Each activity attempt gets an arrow:
    attempts before the last are failed retries (the last of them with the failure
    Temporal recorded), the last one its outcome. Compensations come after a
    ``== compensation ==`` divider in their own color; timers, signals, updates, the
    cancel request and the run's end are shown too.
    """
    records = events(history)
    runs = {run.scheduled_event_id: run for run in activity_runs(records)}
    started = next((e for e in records[:1] if e.kind == "WorkflowExecutionStarted"), None)
    workflow_queue = started.task_queue if started else task_queue("workflow", prefix="")
    workflow_type = started.name if started else "workflow"
    participants, who = _participants(workflow_queue, runs.values())

    seq = _Sequence(runs, who)
    seq.lines += [
        "@startuml",
        f"title {_text(title or f'{history.workflow_id}: {workflow_type}', 80)}",
        "skinparam sequenceMessageAlign left",
        "skinparam responseMessageBelowArrow true",
        "skinparam maxMessageSize 420",
        *participants,
    ]
    for event in records:
        drawn = _DRAW.get(event.kind)
        if drawn is not None:
            drawn(seq, event)
    seq.lines.append("@enduml")
    return "\n".join(seq.lines) + "\n"


def history_diagram(history, title: str | None = None) -> Diagram:
    """A stored or fetched history drawn as a sequence diagram (text when Java is missing)."""
    return draw([history_to_plantuml(history, title)], [history.workflow_id])[0]


async def diagram_for(client, workflow_id: str, run_id: str | None = None, title: str | None = None) -> Diagram:
    """Fetch a workflow's history and draw it: ``await diagram_for(client, "ORD-2")``."""
    return history_diagram(await fetch(client, workflow_id, run_id), title)
