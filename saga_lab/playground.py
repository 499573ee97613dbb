"""A saga playground: pick a fault for each step, press Run, and watch a real saga unfold.

``Playground(lab, "nb05-play")`` in a notebook cell shows the controls: a fault picker per
step and per compensation, and the saga's options (parallel compensation, a hold, a
business deadline, a cancel during the hold or during a step, by the customer or by
Temporal). **Run** places a fresh order (``nb05-play-3f2a9c``) on the lab's server, through
the lab's workers, and then, as the run's history grows:

- a sequence view redraws from the history (:mod:`saga_lab.sequence_view` draws the very
  text :func:`saga_lab.diagrams.history_to_plantuml` writes, in a millisecond), with the
  attempt each running step is on (the history records an attempt only when its step
  ends, so that comes from the run's description); once the run has ended, PlantUML draws
  the real diagram in its place;
- beside it, the three services' rows for that order, and at the end the saga's result
  (COMPLETED / COMPENSATED / FAILED), the run's status in Temporal, and whether the three
  databases agree;
- below, every run of this playground: its faults, how it ended, a link to the Web UI.

The run is an asyncio task on the kernel's loop: the button only schedules it, so other
cells run meanwhile. ``await pg.run(faults={"create_shipment": "permanent"})`` sets the
controls and runs the same way from code; it returns a :class:`PlaygroundRun`, shown as a
static snapshot of the playground (HTML), which is what a stored notebook shows where no
kernel runs (GitHub, the self-study site).
"""

from __future__ import annotations

import asyncio
import html
import re
import textwrap
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowHandle, WorkflowHistory, WorkflowUpdateFailedError
from temporalio.service import RPCError

from . import history
from .checkout import end_state, new_order_id, order_result, start_order
from .config import ACTIONS, STEPS
from .diagrams import COMPENSATION_COLOR, FAILURE_COLOR, history_diagram, history_to_plantuml
from .failures import failure_message
from .faults import (
    CRASH,
    KINDS,
    LATE,
    LATE_AFTER_S,
    PERMANENT,
    SLOW,
    TIMEOUT,
    TRANSIENT,
    FaultPlan,
    InvalidFaultSpec,
)
from .models import COMPENSATED, COMPLETED, FAILED, OrderResult
from .sequence_view import to_svg
from .workflows import OrderSagaWorkflow

if TYPE_CHECKING:
    from .notebook import Lab

#: Every order of the series is 49.99.
AMOUNT = 4999
NO_FAULT = "none"
NO_CANCEL = "none"
#: A picker's first value when its kind is chosen: attempts, or seconds for ``slow``.
DEFAULT_N = {TRANSIENT: 2.0, TIMEOUT: 1.0, SLOW: 1.5, LATE: 5.0}
CRASH_LEFT_OUT = (
    "crash is not offered here: it kills the worker's process, and this notebook's workers run inside "
    "its kernel (notebook 08 runs workers as processes)"
)
#: When a cancel may be sent: during the hold, or during one of the forward steps.
CANCEL_MOMENTS = ("hold", *ACTIONS)
CANCEL_BY = {"customer": "the customer (cancel_order update)", "temporal": "Temporal (workflow cancel)"}
#: Seconds between two looks at a running saga when no event arrives (elapsed time, rows, attempts).
TICK_S = 0.25
#: The longest a hold or a deadline may be set to here.
MAX_WAIT_S = 120.0
STATUS_COLOR = {COMPLETED: "#2E7D32", COMPENSATED: COMPENSATION_COLOR, FAILED: FAILURE_COLOR}


class PlaygroundError(ValueError):
    """A setting the playground cannot run, in one line that says what to change."""


# ------------------------------------------------------------------ what a run is given


@dataclass(frozen=True)
class Setup:
    """One run's settings: a fault per step (none for the others) and the saga's options."""

    faults: FaultPlan = field(default_factory=FaultPlan)
    hold_seconds: float = 0.0
    deadline_seconds: float = 0.0
    parallel_compensation: bool = False
    #: ``"hold"`` or a forward step: when the cancel is sent (None: no cancel).
    cancel_during: str | None = None
    cancel_by: str = "customer"

    def __post_init__(self) -> None:
        for name, value in (("hold_seconds", self.hold_seconds), ("deadline_seconds", self.deadline_seconds)):
            if not 0 <= value <= MAX_WAIT_S:
                raise PlaygroundError(f"{name} must be from 0 to {MAX_WAIT_S:g} s, not {value:g}")
        if self.cancel_during is not None and self.cancel_during not in CANCEL_MOMENTS:
            raise PlaygroundError(
                f"cannot cancel during {self.cancel_during!r}: choose one of {', '.join(CANCEL_MOMENTS)}, or None"
            )
        if self.cancel_by not in CANCEL_BY:
            raise PlaygroundError(f"cancel_by must be one of {', '.join(CANCEL_BY)}, not {self.cancel_by!r}")
        if self.cancel_during == "hold" and self.hold_seconds <= 0:
            raise PlaygroundError("a cancel during the hold needs a hold: set hold_seconds above 0")

    @classmethod
    def of(cls, faults: Mapping[str, str] | FaultPlan | None = None, **options: Any) -> Setup:
        """``{"create_shipment": "permanent", "refund": "transient:2"}`` and the options, checked."""
        if isinstance(faults, FaultPlan):
            plan = faults
            if any(fault.kind == CRASH for fault in plan.faults.values()):
                raise PlaygroundError(CRASH_LEFT_OUT)
        else:
            specs = []
            for step, kind in (faults or {}).items():
                if str(kind).split(":")[0] == CRASH:
                    raise PlaygroundError(CRASH_LEFT_OUT)
                if str(kind) != NO_FAULT:
                    specs.append(f"{step}={kind}")
            try:
                plan = FaultPlan.parse(specs)
            except InvalidFaultSpec as err:
                raise PlaygroundError(str(err)) from None
        unknown = sorted(set(options) - {f.name for f in fields(cls)})
        if unknown:
            allowed = ", ".join(f.name for f in fields(cls) if f.name != "faults")
            raise PlaygroundError(f"unknown option {unknown[0]!r}: use {allowed}")
        return cls(plan, **options)

    @property
    def late(self) -> bool:
        return any(fault.kind == LATE for fault in self.faults.faults.values())

    def __str__(self) -> str:
        parts = [str(self.faults)]
        if self.hold_seconds:
            parts.append(f"hold {self.hold_seconds:g} s")
        if self.deadline_seconds:
            parts.append(f"deadline {self.deadline_seconds:g} s")
        if self.parallel_compensation:
            parts.append("parallel compensation")
        if self.cancel_during:
            moment = "the hold" if self.cancel_during == "hold" else self.cancel_during
            parts.append(f"cancel during {moment} by {CANCEL_BY[self.cancel_by].split(' (')[0]}")
        return "; ".join(parts)


# ------------------------------------------------------------------ what a run gave


@dataclass
class PlaygroundRun:
    """One run of the playground: what it was given, how it ended, what the services hold."""

    number: int
    order_id: str
    setup: Setup
    result: OrderResult | None = None
    #: The run's status in Temporal (``COMPLETED``, ``FAILED``, ``CANCELED``...).
    run_status: str | None = None
    #: The order in the three services when the saga ended (:func:`saga_lab.checkout.end_state`).
    rows: dict = field(default_factory=dict)
    #: The same once late work had landed (only when a step was given a ``late`` fault).
    late_rows: dict | None = None
    #: What became of the cancel, when one was asked for.
    cancel_note: str | None = None
    web_ui: str | None = None
    #: Seconds from pressing Run: ``first event`` drawn, ``first step`` drawn, ``ended`` (the end
    #: state shown), ``diagram`` (PlantUML's picture shown).
    seconds: dict[str, float] = field(default_factory=dict)
    #: The sequence as last drawn: PlantUML's SVG, or the light view's when Java is missing.
    picture: str = ""
    #: The playground as it looked when this run ended (what a stored notebook shows).
    snapshot: str = ""

    @property
    def status(self) -> str | None:
        """The saga's result: COMPLETED, COMPENSATED or FAILED."""
        return self.result.status if self.result else None

    @property
    def consistent(self) -> str | None:
        final = self.late_rows or self.rows
        return final.get("consistent")

    def __repr__(self) -> str:
        lines = [f"run {self.number}: {self.order_id}, {self.setup}"]
        lines.append(
            f"  Temporal run: {self.run_status} · result: {self.status} · the three databases agree: {self.consistent}"
        )
        if self.result is not None and self.result.error:
            lines.append(f"  why: {self.result.error}")
        if self.result is not None:
            lines.append(f"  compensations done: {', '.join(self.result.compensations) or 'none'}")
        if self.cancel_note:
            lines.append(f"  cancel: {self.cancel_note}")
        lines.append(f"  services: {_services_line(self.rows)}")
        if self.late_rows is not None:
            lines.append(f"  after the late work landed: {_services_line(self.late_rows)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.snapshot


def _payment(rows: dict) -> str:
    """``CHARGED · net 49.99``, or ``nothing charged``."""
    if rows.get("payment") is None:
        return "nothing charged"
    return f"{rows['payment']} · net {(rows.get('net') or 0) / 100:.2f}"


def _services_line(rows: dict) -> str:
    if not rows:
        return "not read"
    return f"payment {_payment(rows)} · order {rows.get('order') or 'none'} · shipment {rows.get('shipment') or 'none'}"


# ------------------------------------------------------------------ the pictures, as HTML


def _rows_html(rows: dict, late_rows: dict | None = None, live: bool = False) -> str:
    """The order in the three services (and in Temporal), one row each; a column after late work."""
    columns = [("now" if live else "when the saga ended", rows)]
    if late_rows is not None:
        columns.append(("after the late work landed", late_rows))
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{html.escape(name)}</th>" for name, _ in columns)

    def cell(value: str, bad: bool = False) -> str:
        color = f"color:{FAILURE_COLOR};font-weight:600;" if bad else ""
        return f"<td style='padding:2px 8px;{color}'>{html.escape(value)}</td>"

    body = ""
    for label, show in (
        ("payment", _payment),
        ("order", lambda r: r.get("order") or "none"),
        ("shipment", lambda r: r.get("shipment") or "none"),
        ("Temporal run", lambda r: r.get("workflow") or "none"),
    ):
        body += f"<tr><td style='padding:2px 8px'>{label}</td>" + "".join(cell(show(r)) for _, r in columns) + "</tr>"
    body += "<tr><td style='padding:2px 8px'>the three agree</td>" + "".join(
        cell(r.get("consistent") or "?", bad=r.get("consistent") == "NO" and not live) for _, r in columns
    )
    body += "</tr>"
    return (
        "<table class='saga-rows' style='border-collapse:collapse;font-size:13px;line-height:1.35'>"
        f"<thead><tr><th></th>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _end_html(run: PlaygroundRun) -> str:
    """The end state in a few words: the result, the run's status, whether the databases agree."""
    status = run.status or "?"
    color = STATUS_COLOR.get(status, "#555555")
    result = run.result
    details = []
    if result is not None and result.error:
        details.append(result.error)
    if result is not None:
        details.append("compensations done: " + (", ".join(result.compensations) or "none"))
        if result.failed_compensations:
            details.append("failed for good: " + ", ".join(result.failed_compensations))
    if run.cancel_note:
        details.append("cancel: " + run.cancel_note)
    link = f" · <a href='{html.escape(run.web_ui)}' target='_blank'>open in the Web UI</a>" if run.web_ui else ""
    agree = run.consistent
    data = {"status": status, "run-status": run.run_status, "consistent": agree}
    return (
        "<div class='saga-end' "
        + " ".join(f"data-{key}='{html.escape(str(value))}'" for key, value in data.items())
        + " style='margin:4px 0 8px 0'>"
        f"<div style='font-size:22px;font-weight:700;line-height:1.3;color:{color}'>{html.escape(status)}</div>"
        f"<div style='font-size:13px;line-height:1.35'>Temporal run: <b>{html.escape(str(run.run_status))}</b>"
        f" · the three databases agree: <b>{html.escape(str(agree))}</b>{link}</div>"
        + "".join(f"<div style='font-size:12px;color:#444;line-height:1.35'>{html.escape(d)}</div>" for d in details)
        + "</div>"
    )


def _runs_html(runs: list[PlaygroundRun]) -> str:
    """Every run of this playground, newest last: what it was given, how it ended, a Web UI link."""
    if not runs:
        return "<div style='font-size:12px;color:#666'>Your runs will be listed here.</div>"
    cells = "padding:2px 8px;border-top:1px solid #DDD;text-align:left"
    head = "".join(
        f"<th style='{cells}'>{name}</th>"
        for name in ("#", "order", "faults and options", "result", "Temporal run", "agree", "took", "")
    )
    rows = ""
    for run in runs:
        status = run.status or "?"
        link = f"<a href='{html.escape(run.web_ui)}' target='_blank'>Web UI</a>" if run.web_ui else ""
        took = f"{run.seconds['ended']:.1f} s" if "ended" in run.seconds else ""
        values = [
            str(run.number),
            html.escape(run.order_id),
            html.escape(str(run.setup)),
            f"<b style='color:{STATUS_COLOR.get(status, '#555')}'>{html.escape(status)}</b>",
            html.escape(str(run.run_status)),
            html.escape(str(run.consistent)),
            took,
            link,
        ]
        rows += "<tr>" + "".join(f"<td style='{cells}'>{v}</td>" for v in values) + "</tr>"
    return (
        "<table class='saga-runs' style='border-collapse:collapse;font-size:12px;line-height:1.35'>"
        f"<caption style='text-align:left;font-weight:600'>Your runs</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


_SVG_SIZE = re.compile(r"(<svg\b[^>]*?style=\")width:[\d.]+px;height:[\d.]+px;")


def fit(svg: str) -> str:
    """PlantUML's SVG scaled down to the width it is given (its own style fixes its size in pixels)."""
    return _SVG_SIZE.sub(r"\1max-width:100%;height:auto;", svg[svg.find("<svg") :], count=1)


def _picture_html(svg: str, drawn_by: str) -> str:
    caption = {
        "plantuml": "drawn by PlantUML from the run's history",
        "live": "drawn live from the run's history; PlantUML draws it once the run ends",
        "light": "drawn from the run's history (PlantUML could not draw it: see the line printed above)",
    }[drawn_by]
    return (
        f"<div class='saga-diagram' data-drawn-by='{drawn_by}' style='overflow:auto;max-width:100%'>{svg}"
        f"<div style='font-size:11px;color:#777;line-height:1.35'>{caption}</div></div>"
    )


def _snapshot_html(run: PlaygroundRun, runs: list[PlaygroundRun], picture: str) -> str:
    """The playground after ``run``, as static HTML: what GitHub and the self-study site show."""
    return (
        "<div class='saga-playground-snapshot' style='border:1px solid #CCC;border-radius:4px;padding:8px'>"
        "<div style='font-weight:600'>Saga playground: a snapshot of run "
        f"{run.number} ({html.escape(run.order_id)})</div>"
        f"<div style='font-size:12px;color:#555'>faults and options: {html.escape(str(run.setup))} · run the "
        "notebook in JupyterLab to play</div>"
        "<div style='display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start'>"
        f"<div style='flex:3 1 560px;min-width:0'>{picture}</div>"
        f"<div style='flex:2 1 300px'>{_end_html(run)}{_rows_html(run.rows, run.late_rows)}</div></div>"
        f"{_runs_html(runs)}</div>"
    )


# ------------------------------------------------------------------ reading a live run

_WAITING_NOTE = re.compile(r"^note over (?P<who>\w+) : (?P<name>\w+) (?:not started yet|still running)$", re.M)


async def pending_attempts(handle: WorkflowHandle) -> dict[str, str]:
    """What each running activity is doing now, by name: which attempt, and how the one before ended.

    The history records an activity's attempts only once it has ended, so a step that is
    being retried looks "not started yet" there; the run's description knows its attempt.
    """
    description = await handle.describe()
    notes = {}
    for pending in description.raw_description.pending_activities:
        if pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED:
            state = "running"
        else:
            state = "waits for its retry" if pending.attempt > 1 else "scheduled"
        note = f"{pending.activity_type.name}: attempt {pending.attempt} {state}"
        if pending.HasField("last_failure"):
            note += f"; attempt {pending.attempt - 1} failed: {failure_message(pending.last_failure)}"
        notes[pending.activity_type.name] = note
    return notes


def with_attempts(text: str, notes: Mapping[str, str]) -> str:
    """The PlantUML ``text`` with each waiting activity's note replaced by what it is doing now."""

    def replace(match: re.Match) -> str:
        note = notes.get(match["name"])
        if note is None:
            return match.group(0)
        return f"note over {match['who']} : " + "\\n".join(textwrap.wrap(note, 60, break_on_hyphens=False))

    return _WAITING_NOTE.sub(replace, text)


@dataclass
class _Live:
    """A run while it runs: its handle, the events seen so far, and a flag raised when more came."""

    order_id: str
    workflow_id: str
    handle: WorkflowHandle
    pressed: float
    events: list = field(default_factory=list)
    grew: asyncio.Event = field(default_factory=asyncio.Event)
    attempts: dict[str, str] = field(default_factory=dict)
    attempts_read_at: float = 0.0
    cancel_task: asyncio.Task | None = None
    cancel_note: str | None = None

    def history(self) -> WorkflowHistory:
        return WorkflowHistory(self.workflow_id, list(self.events))

    def elapsed(self) -> float:
        return time.monotonic() - self.pressed


def _reached(records: list[history.Event], setup: Setup) -> bool:
    """Has the saga reached the moment its cancel is for (the step scheduled, the hold's timer started)?"""
    if setup.cancel_during == "hold":
        ordered = next(
            (i for i, e in enumerate(records) if e.kind == "ActivityTaskCompleted" and e.name == "create_order"), None
        )
        return ordered is not None and any(e.kind == "TimerStarted" for e in records[ordered:])
    return any(e.kind == "ActivityTaskScheduled" and e.name == setup.cancel_during for e in records)


# ------------------------------------------------------------------ the widget


class _CellWatch:
    """Which cell this kernel is running now, if any (IPython's ``pre_run_cell``/``post_run_cell``)."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.cell: dict | None = None  # the running cell's execute request

    @classmethod
    def of(cls, kernel: Any) -> _CellWatch:
        """The kernel's one watch, made and registered on first use."""
        watch = getattr(kernel, "_saga_lab_cell_watch", None)
        if watch is None:
            watch = kernel._saga_lab_cell_watch = cls(kernel)
            kernel.shell.events.register("pre_run_cell", watch.began)
            kernel.shell.events.register("post_run_cell", watch.ended)
        return watch

    def began(self, _info: Any) -> None:
        self.cell = self.kernel.get_parent("shell")

    def ended(self, _result: Any) -> None:
        self.cell = None


def _keep_talking(controls: list[widgets.Widget]) -> None:
    """Answer each control's message that comes while a cell runs with the "idle" its browser waits for.

    ipykernel 7.4 handles a widget's message that comes while a cell runs at once, without waiting for
    the cell, and sends no "idle" for it. ipywidgets in the browser sends a control's next change only
    after the idle of its last one, so that control would go quiet for good, and Run would run a fault
    the learner has since taken away (``tests/test_playground_browser.py`` shows it). A kernel that
    waits for the cell is not touched (no cell runs then), and a second idle is ignored by the browser.
    """
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:  # not in a Jupyter kernel: nothing to answer
        return
    if not Kernel.initialized():
        return
    kernel = Kernel.instance()
    if getattr(kernel, "shell", None) is None or not hasattr(kernel, "_publish_status"):
        return
    watch = _CellWatch.of(kernel)
    for control in controls:

        def answered(msg: dict, handle: Any = control._handle_msg) -> None:
            try:
                handle(msg)
            finally:
                if watch.cell is not None:  # handled beside a running cell: say idle for it, the cell runs on
                    kernel._publish_status("idle", "shell", parent=msg)
                    kernel._publish_status("busy", "shell", parent=watch.cell)

        control.comm.on_msg(answered)


class Playground:
    """Faults per step, the saga's options, a Run button, and a real saga drawn as it runs."""

    def __init__(self, lab: Lab, order_prefix: str = "play", amount: int = AMOUNT) -> None:
        self.lab = lab
        self.client = lab.client
        self.order_prefix = order_prefix
        self.amount = amount
        self.runs: list[PlaygroundRun] = []
        self._running: str | None = None  # the order id of the run going on
        self._task: asyncio.Task | None = None
        try:  # the kernel's loop: a click schedules the run on it
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._build()

    # -------------------------------------------------------------- controls

    def _build(self) -> None:
        label = {"description_width": "120px"}
        self.kinds: dict[str, widgets.Dropdown] = {}
        self.amounts: dict[str, widgets.BoundedFloatText] = {}
        self.units: dict[str, widgets.Label] = {}
        rows = [widgets.HTML("<b>Faults</b> (steps, then compensations)")]
        for step in STEPS:
            kind = widgets.Dropdown(
                options=[NO_FAULT, *KINDS],
                value=NO_FAULT,
                description=step,
                style=label,
                layout=widgets.Layout(width="250px"),
            )
            kind.add_class(f"saga-playground-fault-{step}")
            amount = widgets.BoundedFloatText(
                value=1, min=0.1, max=100, step=1, disabled=True, layout=widgets.Layout(width="70px")
            )
            amount.add_class(f"saga-playground-n-{step}")
            unit = widgets.Label("", layout=widgets.Layout(width="70px"))
            kind.observe(lambda change, s=step: self._kind_changed(s, change["new"]), names="value")
            self.kinds[step], self.amounts[step], self.units[step] = kind, amount, unit
            rows.append(widgets.HBox([kind, amount, unit]))
        small = "font-size:11px;color:#666;max-width:420px;line-height:1.35"
        rows.append(widgets.HTML(f"<div style='{small}'>{CRASH_LEFT_OUT}.</div>"))

        wide = widgets.Layout(width="380px")
        self.parallel = widgets.Checkbox(value=False, description="parallel compensation", indent=False)
        self.hold = widgets.BoundedFloatText(
            value=0, min=0, max=MAX_WAIT_S, step=1, description="hold (s)", style=label, layout=wide
        )
        self.deadline = widgets.BoundedFloatText(
            value=0, min=0, max=MAX_WAIT_S, step=1, description="deadline (s)", style=label, layout=wide
        )
        moments = [("no cancel", NO_CANCEL), ("during the hold", "hold")] + [(f"during {s}", s) for s in ACTIONS]
        self.cancel = widgets.Dropdown(options=moments, value=NO_CANCEL, description="cancel", style=label, layout=wide)
        self.cancel_by = widgets.Dropdown(
            options=[(words, key) for key, words in CANCEL_BY.items()],
            value="customer",
            description="cancelled by",
            style=label,
            layout=wide,
        )
        for name, control in (
            ("parallel", self.parallel),
            ("hold", self.hold),
            ("deadline", self.deadline),
            ("cancel", self.cancel),
            ("cancel-by", self.cancel_by),
        ):
            control.add_class(f"saga-playground-{name}")
        options = widgets.VBox(
            layout=widgets.Layout(margin="0 0 0 24px"),
            children=[
                widgets.HTML("<b>The saga's options</b> (0 s: none)"),
                self.parallel,
                self.hold,
                self.deadline,
                self.cancel,
                self.cancel_by,
            ],
        )

        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.run_button.add_class("saga-playground-run")
        self.run_button.on_click(self._clicked)
        self.status = widgets.HTML(
            self._status_text("Pick faults and options, then press Run."), layout=widgets.Layout(margin="0 0 0 12px")
        )
        self.status.add_class("saga-playground-status")
        self.view = widgets.HTML("", layout=widgets.Layout(flex="3 1 560px", min_width="0"))
        self.view.add_class("saga-playground-view")
        self.state = widgets.HTML("", layout=widgets.Layout(flex="2 1 300px", margin="0 0 0 16px"))
        self.state.add_class("saga-playground-state")
        self.runs_view = widgets.HTML(_runs_html(self.runs))
        self.runs_view.add_class("saga-playground-runs")
        title = (
            f"<b>Saga playground</b>: each Run places a fresh order ({html.escape(self.order_prefix)}-xxxxxx, "
            f"{self.amount / 100:.2f}) on the lab's server, through this notebook's workers."
        )
        if getattr(self.lab, "workers", None) is None:
            title += (
                f"<div style='color:{FAILURE_COLOR}'>No workers run in this kernel: a run waits until a worker polls "
                "(start them with Lab.start(), or `saga-lab worker` in a terminal).</div>"
            )
        self.widget = widgets.VBox(
            [
                widgets.HTML(title),
                widgets.HBox([widgets.VBox(rows), options], layout=widgets.Layout(flex_flow="row wrap")),
                widgets.HBox([self.run_button, self.status], layout=widgets.Layout(align_items="center")),
                widgets.HBox([self.view, self.state], layout=widgets.Layout(flex_flow="row wrap")),
                self.runs_view,
            ]
        )
        self.widget.add_class("saga-playground")
        controls = [self.parallel, self.hold, self.deadline, self.cancel, self.cancel_by]
        _keep_talking([*self.kinds.values(), *self.amounts.values(), *controls])

    def _kind_changed(self, step: str, kind: str) -> None:
        amount, unit = self.amounts[step], self.units[step]
        takes_n = kind in DEFAULT_N
        amount.disabled = not takes_n
        if takes_n:
            amount.value = DEFAULT_N[kind]
        unit.value = "seconds" if kind == SLOW else "attempts" if takes_n else ""

    def setup(self) -> Setup:
        """The controls' values as a :class:`Setup` (raises :class:`PlaygroundError` in one line)."""
        faults = {}
        for step, picker in self.kinds.items():
            kind, n = picker.value, self.amounts[step].value
            if kind == NO_FAULT:
                continue
            if kind == PERMANENT:
                faults[step] = kind
            elif kind == SLOW:
                faults[step] = f"{kind}:{n:g}"
            else:
                faults[step] = f"{kind}:{int(n)}" if float(n).is_integer() else f"{kind}:{n:g}"
        return Setup.of(
            faults,
            hold_seconds=float(self.hold.value),
            deadline_seconds=float(self.deadline.value),
            parallel_compensation=bool(self.parallel.value),
            cancel_during=None if self.cancel.value == NO_CANCEL else self.cancel.value,
            cancel_by=self.cancel_by.value,
        )

    def show_setup(self, setup: Setup) -> None:
        """Put ``setup`` into the controls, as if picked by hand."""
        for step in STEPS:
            fault = setup.faults.for_step(step)
            self.kinds[step].value = fault.kind if fault else NO_FAULT
            if fault is not None and fault.kind in DEFAULT_N:
                self.amounts[step].value = fault.seconds if fault.kind == SLOW else fault.times
        self.hold.value = setup.hold_seconds
        self.deadline.value = setup.deadline_seconds
        self.parallel.value = setup.parallel_compensation
        self.cancel.value = setup.cancel_during or NO_CANCEL
        self.cancel_by.value = setup.cancel_by

    # -------------------------------------------------------------- running

    async def run(self, faults: Mapping[str, str] | FaultPlan | None = None, **options: Any) -> PlaygroundRun:
        """Set the controls (faults not named: none) and run, as pressing Run does; the run when it has ended.

        ``options``: ``hold_seconds``, ``deadline_seconds``, ``parallel_compensation``,
        ``cancel_during`` (``"hold"`` or a step) and ``cancel_by`` (``"customer"`` or ``"temporal"``).
        """
        pressed = time.monotonic()
        setup = Setup.of(faults, **options)
        order_id = self._claim()
        self.show_setup(setup)
        return await self._run(setup, order_id, pressed)

    async def wait(self) -> PlaygroundRun | None:
        """Until the run started with the button has ended; that run (None when there was none)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        return self.runs[-1] if self.runs else None

    def _claim(self) -> str:
        """A fresh order id for the next run, or a refusal while a run is going (one at a time)."""
        if self._running is not None:
            raise PlaygroundError(f"a run is still going ({self._running}): wait for it to end, then run again")
        self._running = new_order_id(self.order_prefix)
        return self._running

    def _clicked(self, _button: Any = None) -> None:
        """The Run button: check the controls and schedule the run on the kernel's loop; return at once."""
        pressed = time.monotonic()
        try:
            self.setup()  # a bad pick is said at once
            order_id = self._claim()
        except PlaygroundError as err:
            self.status.value = self._status_text(str(err), FAILURE_COLOR)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # called from another thread than the loop's
            if self._loop is None:
                self._running = None
                self.status.value = self._status_text("no event loop to run on: run the cell again", FAILURE_COLOR)
            else:
                self._loop.call_soon_threadsafe(self._start, order_id, pressed)
            return
        self._start(order_id, pressed)

    def _start(self, order_id: str, pressed: float) -> None:
        self.run_button.disabled = True
        self._task = asyncio.get_running_loop().create_task(self._run_from_button(order_id, pressed))

    async def _run_from_button(self, order_id: str, pressed: float) -> None:
        # The controls are read here, in the task, not in the click's handler: a change the browser sent
        # before the click can still be on its way through the loop then (ipykernel 7.4 hands a message
        # that came while a cell ran to a task of its own), and it is in by the time this task runs.
        await asyncio.sleep(0)
        try:
            setup = self.setup()
        except PlaygroundError as err:
            self._running = None
            self.run_button.disabled = False
            self.status.value = self._status_text(str(err), FAILURE_COLOR)
            return
        try:
            await self._run(setup, order_id, pressed)
        except Exception as err:  # said in the widget, in one line: a button has no cell to raise into
            self.status.value = self._status_text(f"the run stopped: {type(err).__name__}: {err}", FAILURE_COLOR)

    async def _run(self, setup: Setup, order_id: str, pressed: float) -> PlaygroundRun:
        """Place the order, draw it until it ends; then its end state, PlantUML's diagram, late work."""
        self._loop = asyncio.get_running_loop()
        self.run_button.disabled = True
        run = PlaygroundRun(len(self.runs) + 1, order_id, setup, web_ui=self.lab.web_ui(order_id))
        self.status.value = self._status_text(f"{order_id}: starting")
        self.state.value = self.view.value = ""
        try:
            handle = await start_order(
                self.client,
                order_id,
                self.amount,
                setup.faults,
                hold_seconds=setup.hold_seconds,
                parallel_compensation=setup.parallel_compensation,
                deadline_seconds=setup.deadline_seconds,
            )
            live = _Live(order_id, handle.id, handle, pressed)
            await self._watch(live, run, setup)
            run.rows = await end_state(self.client, order_id)
            run.run_status = run.rows.get("workflow")
            run.seconds["ended"] = live.elapsed()
            self.state.value = _end_html(run) + _rows_html(run.rows)
            self.status.value = self._status_text(f"{order_id}: {run.status} in {run.seconds['ended']:.1f} s; drawing")
            diagram = await asyncio.to_thread(history_diagram, live.history())
            drawn_by = "plantuml" if diagram.svg is not None else "light"
            run.picture = _picture_html(fit(diagram.svg) if diagram.svg else self._light_svg(live), drawn_by)
            self.view.value = run.picture
            run.seconds["diagram"] = live.elapsed()
            if setup.late:
                run.late_rows = await self._after_late_work(live, run)
                self.state.value = _end_html(run) + _rows_html(run.rows, run.late_rows)
            self.status.value = self._status_text(f"{order_id}: {run.status} in {run.seconds['ended']:.1f} s")
            self.runs.append(run)
            run.snapshot = _snapshot_html(run, self.runs, run.picture)
            self.runs_view.value = _runs_html(self.runs)
            return run
        finally:
            self._running = None
            self.run_button.disabled = False

    async def _watch(self, live: _Live, run: PlaygroundRun, setup: Setup) -> None:
        """Redraw as events arrive (or every ``TICK_S``) until the run has ended; its result and cancel note."""
        follower = asyncio.create_task(self._follow(live, setup))
        ending = asyncio.create_task(order_result(live.handle))
        try:
            while not ending.done():
                try:
                    await asyncio.wait_for(live.grew.wait(), TICK_S)
                except TimeoutError:
                    pass
                live.grew.clear()
                await self._draw(live, run, ending.done())
            run.result = ending.result()
            await asyncio.wait([follower], timeout=5)  # the last events, and the cancel's answer
            if live.cancel_task is not None:
                await asyncio.gather(live.cancel_task, return_exceptions=True)
            run.cancel_note = live.cancel_note
            await self._draw(live, run, True)
        finally:
            for task in (follower, ending):
                if not task.done():
                    task.cancel()

    async def _follow(self, live: _Live, setup: Setup) -> None:
        """Long-poll the run's history: each event as soon as the server has it; send the cancel when due."""
        async for event in live.handle.fetch_history_events(wait_new_event=True):
            live.events.append(event)
            live.grew.set()
            if setup.cancel_during and live.cancel_task is None and _reached(history.events(live.history()), setup):
                live.cancel_task = asyncio.create_task(self._send_cancel(live, setup))
        if setup.cancel_during and live.cancel_task is None:
            moment = "the hold" if setup.cancel_during == "hold" else setup.cancel_during
            live.cancel_note = f"the saga ended before it reached {moment}: no cancel was sent"

    async def _send_cancel(self, live: _Live, setup: Setup) -> None:
        moment = "the hold" if setup.cancel_during == "hold" else setup.cancel_during
        at = f"{live.elapsed():.1f} s"
        try:
            if setup.cancel_by == "customer":
                await live.handle.execute_update(OrderSagaWorkflow.cancel_order, "cancelled in the playground")
                live.cancel_note = f"the customer's cancel_order update was accepted during {moment} ({at})"
            else:
                await live.handle.cancel()
                live.cancel_note = f"Temporal's workflow cancel was sent during {moment} ({at})"
        except WorkflowUpdateFailedError as err:
            why = getattr(err.cause, "message", None) or str(err.cause or err)
            live.cancel_note = f"the cancel_order update sent during {moment} was refused: {why}"
        except RPCError as err:
            live.cancel_note = f"the cancel sent during {moment} came too late: {err.message}"

    def _light_svg(self, live: _Live) -> str:
        return to_svg(with_attempts(history_to_plantuml(live.history()), live.attempts))

    async def _draw(self, live: _Live, run: PlaygroundRun, ended: bool) -> None:
        """Redraw the sequence from the events seen so far, and the services' rows."""
        if not live.events:
            return
        text = history_to_plantuml(live.history())
        now = time.monotonic()
        if not ended and _WAITING_NOTE.search(text) and now - live.attempts_read_at > TICK_S:
            live.attempts_read_at = now
            try:
                live.attempts = await pending_attempts(live.handle)
            except RPCError:
                pass
        self.view.value = _picture_html(to_svg(with_attempts(text, {} if ended else live.attempts)), "live")
        run.seconds.setdefault("first event", live.elapsed())
        if "\nWorkflow -" in text:
            run.seconds.setdefault("first step", live.elapsed())
        if not ended:
            rows = await end_state(self.client, live.order_id)
            self.state.value = _rows_html(rows, live=True)
            self.status.value = self._status_text(f"{live.order_id}: running, {live.elapsed():.1f} s")

    async def _after_late_work(self, live: _Live, run: PlaygroundRun) -> dict:
        """Wait for work held by ``late`` faults to land (15 s after its step began); the rows then."""
        injector = getattr(getattr(self.lab, "workers", None), "faults", None)
        give_up = time.monotonic() + LATE_AFTER_S + 10
        while time.monotonic() < give_up:
            rows = await end_state(self.client, live.order_id)
            self.state.value = _end_html(run) + _rows_html(run.rows, rows)
            self.status.value = self._status_text(
                f"{live.order_id}: the saga ended {run.status}; waiting for the late work to land "
                f"({LATE_AFTER_S:g} s after its step began): {live.elapsed():.0f} s"
            )
            held = injector.late_work_in_flight if injector is not None else None
            if held == 0 or (held is None and live.elapsed() > LATE_AFTER_S + 2):
                break
            await asyncio.sleep(TICK_S)
        await asyncio.sleep(0.3)  # the landed work's log line, then its row
        return await end_state(self.client, live.order_id)

    # -------------------------------------------------------------- showing

    @staticmethod
    def _status_text(text: str, color: str = "#333333") -> str:
        return f"<span style='font-size:13px;color:{color}'>{html.escape(text)}</span>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget in JupyterLab; elsewhere (GitHub, the site) a static picture of its last run."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        last = self.runs[-1] if self.runs else None
        bundle["text/plain"] = repr(self)
        bundle["text/html"] = (
            last.snapshot
            if last
            else "<div style='color:#555'>The saga playground's controls appear when this cell runs in JupyterLab; "
            "below, a snapshot of a run.</div>"
        )
        return bundle

    def __repr__(self) -> str:
        runs = f"{len(self.runs)} run(s) so far" if self.runs else "no run yet"
        return f"Saga playground for orders {self.order_prefix}-xxxxxx: {runs} (its controls show in JupyterLab)"


__all__ = ["CANCEL_BY", "CANCEL_MOMENTS", "Playground", "PlaygroundError", "PlaygroundRun", "Setup"]
