"""Plots: every chart is a Figure with a title and labelled axes, built from stored histories
(``tests/histories/golden-*.json``) or made-up results; drawn with the Agg backend."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from temporalio.client import WorkflowHistory

from saga_lab.models import OrderResult
from saga_lab.plots import COLORS, latency_histogram, outcome_counts, timeline

HISTORIES = Path(__file__).resolve().parent / "histories"


def load(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text(encoding="utf-8"))


def assert_styled(fig: Figure, title_part: str) -> None:
    """The house style: a Figure, titled, both axes labelled, and no figure left open in pyplot."""
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert title_part in ax.get_title(loc="left")
    assert ax.get_xlabel() and ax.get_ylabel()
    assert plt.get_fignums() == []
    fig.canvas.draw()  # renders without error


def bar_colors(ax) -> set[str]:
    return {to_hex(patch.get_facecolor()).lower() for patch in ax.patches}


@pytest.mark.parametrize("name", sorted(p.stem for p in HISTORIES.glob("golden-*.json")))
def test_timeline_of_every_stored_history(name):
    fig = timeline(load(name))
    assert_styled(fig, name)
    assert fig.axes[0].get_xlabel() == "seconds since the workflow started"


def test_timeline_shows_steps_and_compensations_in_their_colors():
    fig = timeline(load("golden-shipment-permanent"))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["charge", "create_order", "create_shipment", "cancel_order", "refund"]
    colors = bar_colors(ax)
    assert COLORS["step"].lower() in colors and COLORS["compensation"].lower() in colors
    assert any(t.get_text() == "failed" for t in ax.texts)


def test_timeline_shows_retries():
    ax = timeline(load("golden-charge-transient-2")).axes[0]
    assert any(patch.get_hatch() == "///" for patch in ax.patches)
    assert any(t.get_text() == "2 failed attempt(s)" for t in ax.texts)
    assert any(t.get_text() == "completed (attempt 3)" for t in ax.texts)


def test_timeline_shows_the_hold_timer():
    ax = timeline(load("golden-cancel-update-during-hold")).axes[0]
    assert "timer 30 s" in [t.get_text() for t in ax.get_yticklabels()]
    assert any(t.get_text() == "canceled" for t in ax.texts)


def test_timeline_title_can_be_given():
    assert_styled(timeline(load("golden-happy"), title="Order 1"), "Order 1")


def _heights(ax) -> int:
    return round(sum(patch.get_height() for patch in ax.patches))


def test_outcome_counts_from_results():
    results = [
        OrderResult("a", "COMPLETED"),
        OrderResult("b", "COMPENSATED", failed_step="create_shipment"),
        OrderResult("c", "FAILED", failed_step="create_shipment"),
        OrderResult("d", "COMPENSATED", failed_step="charge"),
    ]
    fig = outcome_counts(results)
    assert_styled(fig, "End status per fault point (4 sagas)")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["none", "charge", "create_shipment"]
    assert _heights(ax) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["COMPLETED", "COMPENSATED", "FAILED"]
    assert COLORS["FAILED"].lower() in bar_colors(ax)


def test_outcome_counts_puts_fault_points_in_the_sagas_order():
    pairs = [("refund", "FAILED"), ("zebra", "FAILED"), ("cancel_order", "FAILED"), ("charge", "COMPENSATED")]
    pairs += [("cancel_shipment", "FAILED"), (None, "COMPLETED")]
    ax = outcome_counts(pairs).axes[0]
    order = ["none", "charge", "cancel_shipment", "cancel_order", "refund", "zebra"]
    assert [t.get_text() for t in ax.get_xticklabels()] == order


def test_outcome_counts_from_pairs_dicts_and_counts():
    pairs = [("refund", "FAILED"), ("refund", "COMPENSATED"), (None, "COMPLETED")]
    assert _heights(outcome_counts(pairs).axes[0]) == 3
    dicts = [{"fault_point": "charge", "status": "COMPENSATED"}] * 5
    assert _heights(outcome_counts(dicts).axes[0]) == 5
    counted = {"create_order": {"COMPENSATED": 7, "FAILED": 1}, "none": {"COMPLETED": 12}}
    fig = outcome_counts(counted, title="Chaos run 1")
    assert_styled(fig, "Chaos run 1")
    assert _heights(fig.axes[0]) == 20


def test_latency_histogram_one_series():
    fig = latency_histogram([0.2, 0.25, 0.3, 0.31, 0.5, 1.2])
    assert_styled(fig, "Saga latency (6 sagas)")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(text.startswith("median 0.30 s") or text.startswith("median 0.31 s") for text in legend)
    assert any(text.startswith("p95") for text in legend)


def test_latency_histogram_compares_series_and_takes_timedeltas():
    fig = latency_histogram({"no faults": [timedelta(milliseconds=300)] * 3, "faults": [1.0, 2.0, 3.0]}, bins=10)
    assert_styled(fig, "Saga latency (6 sagas)")
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "no faults median 0.30 s" in legend and "faults median 2.00 s" in legend


def test_empty_inputs_still_give_a_figure():
    assert_styled(outcome_counts([]), "(0 sagas)")
    assert_styled(latency_histogram([]), "(0 sagas)")
