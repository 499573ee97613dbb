"""The saga playground without a browser: its controls, its runs on the real dev server, its pictures.

The widget's model is driven as the browser drives it (a dropdown's ``value`` set, the Run
button's ``click()``), against the session's dev server and the three services' real SQLite
files, with this process's workers (``Lab.start()``, as a notebook starts them). What the
widget then shows is read back from its HTML: the end state, the services' rows, the runs.
The light sequence view is checked against every stored golden history's PlantUML text.
``tests/test_playground_browser.py`` does the same through JupyterLab in Chromium.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from saga_lab import sequence_view
from saga_lab.diagrams import history_to_plantuml
from saga_lab.models import COMPENSATED, COMPLETED, FAILED
from saga_lab.notebook import Lab
from saga_lab.playground import CRASH_LEFT_OUT, Playground, PlaygroundError, Setup, with_attempts

TESTS = Path(__file__).resolve().parent
GOLDEN = sorted((TESTS / "golden").glob("*.puml"))


def text_of(markup: str) -> str:
    """What a person reads in an HTML value: tags dropped, entities decoded, spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


# ------------------------------------------------------------------ the controls, no server


def test_the_controls_make_the_setup_a_learner_picked():
    pg = Playground(_NoLab())
    pg.kinds["create_shipment"].value = "permanent"
    pg.kinds["refund"].value = "transient"
    assert pg.amounts["refund"].value == 2 and not pg.amounts["refund"].disabled  # a count to edit
    assert pg.amounts["create_shipment"].disabled  # permanent takes none
    pg.kinds["create_order"].value = "slow"
    pg.amounts["create_order"].value = 0.5
    pg.hold.value, pg.deadline.value, pg.parallel.value = 3, 10, True
    pg.cancel.value, pg.cancel_by.value = "hold", "temporal"
    setup = pg.setup()
    assert str(setup.faults) == "create_order=slow:0.5, create_shipment=permanent, refund=transient:2"
    assert (setup.hold_seconds, setup.deadline_seconds, setup.parallel_compensation) == (3, 10, True)
    assert (setup.cancel_during, setup.cancel_by) == ("hold", "temporal")
    assert str(setup) == (
        "create_order=slow:0.5, create_shipment=permanent, refund=transient:2; hold 3 s; deadline 10 s; "
        "parallel compensation; cancel during the hold by Temporal"
    )


def test_a_setup_shown_in_the_controls_reads_back_the_same():
    pg = Playground(_NoLab())
    setup = Setup.of({"charge": "timeout:2", "cancel_shipment": "late:5"}, deadline_seconds=4, cancel_during="charge")
    pg.show_setup(setup)
    assert pg.kinds["charge"].value == "timeout" and pg.amounts["charge"].value == 2
    assert pg.setup() == setup
    pg.show_setup(Setup())
    assert all(picker.value == "none" for picker in pg.kinds.values()) and str(pg.setup()) == "no faults"


@pytest.mark.parametrize(
    ("faults", "options", "says"),
    [
        ({"create_shipment": "crash"}, {}, "crash is not offered here"),
        ({"ship": "permanent"}, {}, "unknown step 'ship'"),
        ({"charge": "flaky"}, {}, "unknown fault kind 'flaky'"),
        ({"charge": "transient:1.5"}, {}, "a whole number of attempts"),
        ({}, {"cancel_during": "hold"}, "needs a hold"),
        ({}, {"cancel_during": "refund"}, "cannot cancel during 'refund'"),
        ({}, {"cancel_during": "charge", "cancel_by": "the bank"}, "cancel_by must be one of"),
        ({}, {"hold_seconds": -1}, "hold_seconds must be from 0"),
        ({}, {"hold": 3}, "unknown option 'hold': use hold_seconds, deadline_seconds"),
    ],
)
def test_a_setup_it_cannot_run_is_refused_in_one_line(faults, options, says):
    with pytest.raises(PlaygroundError) as refused:
        Setup.of(faults, **options)
    assert says in str(refused.value) and "\n" not in str(refused.value)


def test_a_bad_pick_is_said_in_the_widget_and_nothing_starts():
    pg = Playground(_NoLab())
    pg.kinds["charge"].value = "transient"
    pg.amounts["charge"].value = 1.5
    pg.run_button.click()
    assert "a whole number of attempts" in text_of(pg.status.value)
    assert pg._task is None and pg.runs == []


def shown(widget) -> str:
    """Every HTML and label text in a widget tree, as a person reads it."""
    own = text_of(widget.value) if hasattr(widget, "value") and isinstance(widget.value, str) else ""
    return " ".join([own, *(shown(child) for child in getattr(widget, "children", ()))])


def test_crash_is_left_out_and_the_widget_says_why():
    pg = Playground(_NoLab())
    assert all("crash" not in picker.options for picker in pg.kinds.values())
    assert CRASH_LEFT_OUT in shown(pg.widget)


def test_a_waiting_step_shows_the_attempt_it_is_on():
    text = "Workflow -> Payment : charge\nnote over Payment : charge not started yet\n"
    shown = with_attempts(text, {"charge": "charge: attempt 3 running; attempt 2 failed: unavailable"})
    assert "note over Payment : charge: attempt 3 running; attempt 2 failed: unavailable" in shown
    assert with_attempts(text, {}) == text  # no news: the history's own words stay


# ------------------------------------------------------------------ the light sequence view


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_the_light_view_draws_every_line_the_translation_writes(path):
    text = path.read_text(encoding="utf-8")
    seq = sequence_view.parse(text)
    assert seq.unknown == []
    assert list(seq.participants) == ["Workflow", "Payment", "Order", "Shipping"]
    svg = sequence_view.to_svg(text)
    shown = text_of(svg)
    for line in text.splitlines():
        label = line.partition(" : ")[2] if " : " in line else ""
        for part in label.split("\\n"):
            assert re.sub(r"~(?=\S)", "", part) in shown, f"{path.name}: {part!r} not drawn"
    assert svg.count("<line") >= sum(isinstance(i, sequence_view.Message) for i in seq.items)


def test_the_light_view_reads_arrows_the_way_plantuml_does():
    seq = sequence_view.parse(
        "[-> Workflow : start\n"
        "Workflow -[#C62828]>x Payment : charge attempt 1 failed\n"
        "Payment --> Workflow : completed\n"
        "Workflow -[#777777]>o Order : cancel create_order\n"
        "[<-[#C62828]- Workflow : failed: ~**needs~** a person\n"
        "something PlantUML has but the translation never writes\n"
    )
    start, lost, reply, cancel, end, unknown = seq.items
    assert (start.src, start.dst, start.end, start.dashed) == ("[", "Workflow", ">", False)
    assert (lost.end, lost.color) == ("x", "#C62828")
    assert (reply.src, reply.dst, reply.dashed) == ("Payment", "Workflow", True)
    assert cancel.end == "o"
    assert (end.src, end.dst, end.dashed, end.lines) == ("Workflow", "[", True, ["failed: **needs** a person"])
    assert seq.unknown == ["something PlantUML has but the translation never writes"]
    assert "something PlantUML has" in text_of(sequence_view.to_svg("\n".join(["title t", *seq.unknown])))


# ------------------------------------------------------------------ runs on the real server


class _NoLab:
    """A lab with no server, for the controls alone (nothing is run)."""

    client = None
    workers = None

    def web_ui(self, order_id):
        return None


@pytest.fixture(scope="module")
async def lab(session_server):
    lab = await Lab.start()
    yield lab
    await lab.stop()


@pytest.fixture
def pg(lab):
    return Playground(lab, "it-play")


async def test_run_pressed_in_the_widget_compensates_and_shows_it(pg):
    pg.kinds["create_shipment"].value = "permanent"
    pg.run_button.click()
    assert pg._task is not None and not pg._task.done()  # the click only scheduled the run
    assert pg.run_button.disabled
    run = await pg.wait()
    assert not pg.run_button.disabled
    assert (run.status, run.run_status, run.consistent) == (COMPENSATED, "COMPLETED", "yes")
    assert run.result.compensations == ["cancel_order", "refund"]
    state = text_of(pg.state.value)
    assert "COMPENSATED Temporal run: COMPLETED · the three databases agree: yes" in state
    assert "payment REFUNDED · net 0.00 order CANCELLED shipment none" in state
    assert "data-status='COMPENSATED'" in pg.state.value
    assert "class='saga-diagram'" in pg.view.value and "<svg" in pg.view.value
    assert "cancel_order" in text_of(pg.view.value) and "refund" in text_of(pg.view.value)
    assert run.order_id in text_of(pg.runs_view.value) and "create_shipment=permanent" in text_of(pg.runs_view.value)
    assert {"first event", "first step", "ended", "diagram"} <= set(run.seconds)
    assert run.seconds["first event"] <= run.seconds["first step"] <= run.seconds["ended"] <= run.seconds["diagram"]


async def test_a_refund_refused_for_good_ends_failed_and_leaves_the_charge(pg):
    run = await pg.run(faults={"create_shipment": "permanent", "refund": "permanent"})
    assert pg.kinds["refund"].value == "permanent"  # the controls show what ran
    assert (run.status, run.run_status, run.consistent) == (FAILED, "FAILED", "NO")
    assert run.result.failed_compensations == ["refund"] and "needs a person" in run.result.error
    assert (run.rows["payment"], run.rows["net"], run.rows["order"]) == ("CHARGED", 4999, "CANCELLED")
    assert "data-status='FAILED'" in pg.state.value
    assert "failed for good: refund" in text_of(pg.state.value)
    assert repr(run).splitlines()[1] == "  Temporal run: FAILED · result: FAILED · the three databases agree: NO"
    assert "FAILED" in text_of(run._repr_html_()) and run.order_id in run._repr_html_()


async def test_every_run_of_the_session_is_listed_with_its_outcome(pg):
    first = await pg.run()
    second = await pg.run(faults={"create_order": "permanent"})
    assert [r.status for r in pg.runs] == [COMPLETED, COMPENSATED]
    listed = text_of(pg.runs_view.value)
    assert listed.index(first.order_id) < listed.index(second.order_id)
    assert "create_order=permanent COMPENSATED COMPLETED yes" in listed
    assert first.order_id != second.order_id and first.order_id.startswith("it-play-")
    bundle = pg._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert second.order_id in bundle["text/html"]  # where no widget runs, the last run's snapshot
    assert bundle["text/plain"].startswith("Saga playground for orders it-play-xxxxxx: 2 run(s)")


async def test_a_retried_step_shows_its_attempt_while_it_runs(pg):
    views: list[str] = []
    pg.view.observe(lambda change: views.append(text_of(change["new"])), names="value")
    run = await pg.run(faults={"charge": "timeout:2"})
    assert run.status == COMPLETED
    live = [v for v in views if "attempt 2 running" in v or "attempt 2 waits" in v]
    assert live, "no live view showed the charge's second attempt"
    assert any("attempt 1 failed" in v and "timeout" in v.lower() for v in live)
    assert "charge (attempt 3)" in views[-1] or "attempt 1 timed out" in views[-1]


async def test_a_workflow_cancel_during_a_step_undoes_the_order(pg):
    run = await pg.run(faults={"create_order": "slow:1"}, cancel_during="create_order", cancel_by="temporal")
    assert (run.status, run.run_status, run.consistent) == (COMPENSATED, "CANCELED", "yes")
    assert run.result.compensations == ["cancel_order", "refund"]
    assert run.cancel_note.startswith("Temporal's workflow cancel was sent during create_order")


async def test_the_customer_cannot_cancel_once_shipping_has_started(pg):
    run = await pg.run(faults={"create_shipment": "slow:1"}, cancel_during="create_shipment")
    assert (run.status, run.run_status) == (COMPLETED, "COMPLETED")
    assert "refused: too late to cancel" in run.cancel_note
    assert "refused: too late to cancel" in text_of(pg.state.value)


async def test_a_customer_cancel_in_the_hold_completes_the_run_compensated(pg):
    run = await pg.run(hold_seconds=30, cancel_during="hold")
    assert (run.status, run.run_status, run.consistent) == (COMPENSATED, "COMPLETED", "yes")
    assert run.seconds["ended"] < 30  # the hold was cut short by the cancel
    assert "accepted during the hold" in run.cancel_note


async def test_a_cancel_never_reached_is_said_and_not_sent(pg):
    run = await pg.run(faults={"charge": "permanent"}, cancel_during="create_shipment")
    assert run.status == COMPENSATED
    assert run.cancel_note == "the saga ended before it reached create_shipment: no cancel was sent"


async def test_a_second_run_while_one_goes_is_refused(pg):
    pg.kinds["create_order"].value = "slow"
    pg.run_button.click()
    with pytest.raises(PlaygroundError, match="a run is still going"):
        await pg.run()
    pg.run_button.click()  # a second press: said in the widget, nothing else starts
    assert "a run is still going" in text_of(pg.status.value)
    run = await pg.wait()
    assert run.status == COMPLETED and len(pg.runs) == 1


async def test_the_kernel_loop_stays_free_while_a_run_goes(pg):
    """Other work on the loop (another cell) runs while a run started with the button goes on.

    How long the loop waits at most is measured by ``bench/playground.py``, in a real kernel.
    """
    pg.kinds["create_order"].value = "slow"
    pg.amounts["create_order"].value = 1
    pg.run_button.click()
    ticks = 0
    while not pg._task.done():
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks > 10  # the loop went round (about 100 times on an idle machine) while the run went on
    assert pg.runs[-1].status == COMPLETED


@pytest.mark.slow
async def test_late_work_lands_after_the_saga_and_compensation_wins(pg):
    run = await pg.run(faults={"charge": "late:5"})
    assert run.status == COMPENSATED and run.rows["payment"] is None  # nothing charged when the saga ended
    assert run.late_rows is not None
    assert (run.late_rows["payment"], run.late_rows["net"], run.late_rows["consistent"]) == ("REFUNDED", 0, "yes")
    assert "after the late work landed" in text_of(pg.state.value)
    assert "services: payment nothing charged · order none" in repr(run)
    assert "after the late work landed: payment REFUNDED · net 0.00" in repr(run)


def test_the_live_history_of_a_run_is_drawn_as_it_grows():
    """A history cut after each event is drawn without error, and shows what had happened by then."""
    stored = WorkflowHistory.from_json("golden", (TESTS / "histories" / "golden-refund-permanent.json").read_text())
    drawn = [sequence_view.to_svg(history_to_plantuml(WorkflowHistory("g", stored.events[:n]))) for n in range(1, 40)]
    assert "start OrderSagaWorkflow" in text_of(drawn[0])
    assert any("create_shipment not started yet" in text_of(svg) for svg in drawn)
    assert "needs a person" in text_of(drawn[-1])


# ------------------------------------------------------------------ what the stored notebooks show

PLAYGROUND_NOTEBOOKS = ("05_compensation", "06_cancellation_and_deadlines", "07_retries_and_idempotency")


@pytest.mark.parametrize("name", PLAYGROUND_NOTEBOOKS)
def test_a_stored_playground_shows_a_snapshot_where_no_kernel_runs(name):
    """GitHub, the site and JupyterLab before a run show the HTML snapshot, never a dead widget."""
    nb = json.loads((TESTS.parent / "notebooks" / f"{name}.ipynb").read_text(encoding="utf-8"))
    assert "widgets" not in nb["metadata"], f"{name}: widget state stored: rerun `make notebooks ONLY={name[:2]}`"
    cells = [c for c in nb["cells"] if c["cell_type"] == "code" and "Playground(" in "".join(c["source"])]
    assert cells, f"{name} has no playground"
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"] if "data" in o]
    assert not [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o["data"]]
    snapshots = [
        "".join(o["data"]["text/html"])
        for o in outputs
        if "saga-playground-snapshot" in "".join(o["data"].get("text/html", ""))
    ]
    assert len(snapshots) == 1, f"{name}: {len(snapshots)} snapshots of a run stored"
    assert "class='saga-end' data-status=" in snapshots[0] and "<svg" in snapshots[0]
