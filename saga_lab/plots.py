"""Charts of sagas with matplotlib, in one style: a title, labelled axes, the same colors.

- :func:`timeline`: one saga's activities as a Gantt chart (steps and compensations in
  their own colors, retries and failures visible), from its event history.
- :func:`outcome_counts`: how many sagas ended COMPLETED / COMPENSATED / FAILED per
  fault point, for the chaos notebooks.
- :func:`latency_histogram`: how long sagas took, with the median and 95th percentile;
- :func:`room_progress`: a workshop room's exercises passed and stuck over time.

Each returns a ``matplotlib.figure.Figure`` and leaves no figure open in pyplot, so a
notebook cell that ends with the call shows the chart exactly once, and a script can
``fig.savefig("x.png")``.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .config import COMPENSATIONS, STEPS
from .diagrams import COMPENSATION_COLOR, FAILURE_COLOR, STEP_COLOR
from .history import activity_runs, events
from .models import COMPENSATED, COMPLETED, END_STATUSES, FAILED

#: One palette for every chart, with the sequence diagrams' hues.
COLORS = {
    "step": STEP_COLOR,
    "compensation": COMPENSATION_COLOR,
    "retries": "#B0B7C3",
    "timer": "#8E8E8E",
    "failure": FAILURE_COLOR,
    COMPLETED: "#2E7D32",
    COMPENSATED: COMPENSATION_COLOR,
    FAILED: FAILURE_COLOR,
    "other": "#6D6D6D",
}

#: Statuses in the order bars stack and legends list them.
STATUS_ORDER = END_STATUSES

#: Fault points in the saga's own order: no fault, the steps, then the compensations as the
#: saga runs them (the rest follow, sorted).
FAULT_POINT_ORDER = ("none", *STEPS)


def _figure(title: str, xlabel: str, ylabel: str, size: tuple[float, float] = (9.0, 4.0)) -> tuple[Figure, Any]:
    """A new figure with the house style, already titled and labelled."""
    fig = plt.figure(figsize=size, layout="constrained")
    plt.close(fig)  # returned, not left open: a notebook shows it once, as the cell's value
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=12, fontweight="bold", loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x" if xlabel.startswith("seconds") else "y", color="#E0E0E0", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


# ------------------------------------------------------------------ one saga over time


def _seconds(moment: datetime | None, start: datetime) -> float | None:
    return None if moment is None else (moment - start).total_seconds()


def timeline(history, title: str | None = None) -> Figure:
    """One saga's activities as bars over time (seconds since the workflow started).

    A light hatched bar before an activity's last attempt is the time spent on failed
    attempts and retry back-off; a red edge and ✗ mark a final failure; timers (a
    hold) are gray rows.
    """
    records = events(history)
    start = records[0].time if records else datetime.now(UTC)
    end = records[-1].time if records else start
    rows: list[dict] = []
    for run in activity_runs(records):
        closed = _seconds(run.closed_at, start)
        rows.append(
            dict(
                label=run.name,
                kind="compensation" if run.name in COMPENSATIONS else "step",
                scheduled=_seconds(run.scheduled_at, start),
                started=_seconds(run.started_at, start),
                closed=closed if closed is not None else _seconds(end, start),
                attempts=run.attempts,
                outcome=run.outcome,
            )
        )
    timers: dict[str, dict] = {}
    for event in records:
        at = _seconds(event.time, start)
        if event.kind == "TimerStarted":
            timers[event.key] = row = dict(
                label=f"timer {event.seconds:g} s",
                kind="timer",
                scheduled=at,
                started=at,
                closed=_seconds(end, start),
                attempts=1,
                outcome="running",
            )
            rows.append(row)
        elif event.kind in ("TimerFired", "TimerCanceled") and event.key in timers:
            timers[event.key].update(closed=at, outcome="fired" if event.kind == "TimerFired" else "canceled")
    rows.sort(key=lambda r: r["scheduled"] or 0.0)

    fig, ax = _figure(
        title or f"Saga timeline: {history.workflow_id}",
        "seconds since the workflow started",
        "activity",
        size=(9.0, 1.2 + 0.45 * max(len(rows), 1)),
    )
    total = max([r["closed"] or 0.0 for r in rows] + [_seconds(end, start) or 0.0, 0.01])
    used = set()
    for y, row in enumerate(rows):
        retried = row["attempts"] > 1 and row["started"] is not None
        begin = row["started"] if retried else row["scheduled"]
        if retried:
            used.add("retries")
            ax.barh(
                y,
                row["started"] - row["scheduled"],
                left=row["scheduled"],
                height=0.5,
                color=COLORS["retries"],
                hatch="///",
                edgecolor="white",
                linewidth=0,
            )
            ax.text(row["scheduled"], y + 0.42, f"{row['attempts'] - 1} failed attempt(s)", fontsize=8, color="#555555")
        failed = row["outcome"] in ("failed", "timed out")
        used.add(row["kind"])
        width = max((row["closed"] or begin) - begin, total * 0.006)
        ax.barh(
            y,
            width,
            left=begin,
            height=0.5,
            color=COLORS[row["kind"]],
            edgecolor=COLORS["failure"] if failed else "none",
            linewidth=2 if failed else 0,
        )
        note = row["outcome"] if row["attempts"] <= 1 else f"{row['outcome']} (attempt {row['attempts']})"
        if failed:
            ax.plot(begin + width + total * 0.015, y, marker="X", color=COLORS["failure"], markersize=8)
        ax.text(
            begin + width + total * (0.035 if failed else 0.012),
            y,
            note,
            va="center",
            fontsize=8,
            color=COLORS["failure"] if failed else "#333333",
        )
    ax.set_yticks(range(len(rows)), [r["label"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(0, total * 1.3)
    legend = {
        "step": Patch(color=COLORS["step"], label="step"),
        "compensation": Patch(color=COLORS["compensation"], label="compensation"),
        "retries": Patch(
            facecolor=COLORS["retries"], hatch="///", edgecolor="white", label="failed attempts\n+ retry back-off"
        ),
        "timer": Patch(color=COLORS["timer"], label="timer"),
    }
    ax.legend(
        handles=[patch for kind, patch in legend.items() if kind in used],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        frameon=False,
    )
    return fig


# ------------------------------------------------------------------ many sagas


def _field(item: Any, *names: str) -> Any:
    for name in names:
        if isinstance(item, Mapping) and name in item:
            return item[name]
        if hasattr(item, name):
            return getattr(item, name)
    return None


def _order(values: Iterable[str], preferred: Sequence[str]) -> list[str]:
    values = set(values)
    return [v for v in preferred if v in values] + sorted(values - set(preferred))


def outcome_counts(results: Iterable[Any] | Mapping[str, Mapping[str, int]], title: str | None = None) -> Figure:
    """Stacked bars: how many sagas ended in each status, per fault point.

    ``results`` is either already counted, ``{fault_point: {status: n}}``, or one item per
    saga: a ``(fault_point, status)`` pair, a mapping, or an object with ``fault_point``
    (else ``failed_step``) and ``status`` — an :class:`~saga_lab.models.OrderResult`
    works. A saga with no fault point counts under "none".
    """
    counts: dict[str, Counter] = {}
    if isinstance(results, Mapping):
        for point, by_status in results.items():
            counts[str(point)] = Counter({str(k): int(v) for k, v in by_status.items()})
    else:
        for item in results:
            if isinstance(item, tuple) and len(item) == 2:
                point, status = item
            else:
                point, status = _field(item, "fault_point", "failed_step"), _field(item, "status")
            counts.setdefault(str(point or "none"), Counter())[str(status)] += 1
    points = _order(counts, FAULT_POINT_ORDER)
    statuses = _order({s for c in counts.values() for s in c}, STATUS_ORDER)
    sagas = sum(sum(c.values()) for c in counts.values())
    fig, ax = _figure(title or f"End status per fault point ({sagas} sagas)", "fault point", "sagas")
    bottoms = [0] * len(points)
    for status in statuses:
        heights = [counts[p][status] for p in points]
        bars = ax.bar(
            points, heights, bottom=bottoms, label=status, color=COLORS.get(status, COLORS["other"]), width=0.6
        )
        ax.bar_label(
            bars, labels=[str(h) if h else "" for h in heights], label_type="center", color="white", fontsize=9
        )
        bottoms = [b + h for b, h in zip(bottoms, heights)]
    if statuses:
        ax.legend(
            title="end status", fontsize=8, title_fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1)
        )
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


def _as_seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def latency_histogram(
    latencies: Iterable[float | timedelta] | Mapping[str, Iterable[float | timedelta]],
    title: str | None = None,
    bins: int = 20,
) -> Figure:
    """A histogram of saga durations in seconds, with the median and 95th percentile marked.

    Give one series (seconds or ``timedelta``) or ``{label: series}`` to compare several
    (e.g. with and without faults).
    """
    series = (
        {str(k): [_as_seconds(v) for v in vs] for k, vs in latencies.items()}
        if isinstance(latencies, Mapping)
        else {"sagas": [_as_seconds(v) for v in latencies]}
    )
    count = sum(len(v) for v in series.values())
    fig, ax = _figure(title or f"Saga latency ({count} sagas)", "latency (s)", "sagas")
    palette = [COLORS["step"], COLORS["compensation"], COLORS["COMPLETED"], COLORS["FAILED"], COLORS["other"]]
    everything = [v for vs in series.values() for v in vs]
    edges = None
    if everything:
        low, high = min(everything), max(everything)
        step = (high - low) / bins if high > low else 1.0
        edges = [low + i * step for i in range(bins + 1)]
    for i, (label, values) in enumerate(series.items()):
        if not values:
            continue
        color = palette[i % len(palette)]
        alpha = 0.85 if len(series) == 1 else 0.55
        ax.hist(values, bins=edges, color=color, alpha=alpha, label=label)
        median = statistics.median(values)
        p95 = sorted(values)[max(0, round(0.95 * len(values)) - 1)]
        prefix = "" if len(series) == 1 else f"{label} "
        ax.axvline(median, color=color, linestyle="-", linewidth=1.5, label=f"{prefix}median {median:.2f} s")
        ax.axvline(p95, color=color, linestyle="--", linewidth=1.5, label=f"{prefix}p95 {p95:.2f} s")
    if everything:
        ax.legend(fontsize=8, frameon=False)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return fig


# ------------------------------------------------------------------ a workshop room over time


def room_progress(state: Any, title: str | None = None) -> Figure:
    """A room's progress: how many (learner, exercise) pairs stand at PASS and at NOT YET, minute by minute.

    ``state`` is a :class:`~saga_lab.workflows.room.RoomState` (the room's ``progress`` query); its
    ``changes`` say when each learner's verdict on an exercise changed.
    """
    title = title or f"Room {state.name!r}: exercises passed and stuck"
    fig, ax = _figure(title, "minutes since the room opened", "learners x exercises")
    standing: dict[tuple[str, str], bool] = {}
    times, passed, stuck = [0.0], [0], [0]
    for change in sorted(state.changes, key=lambda c: c.at):
        standing[(change.learner, change.exercise)] = change.passed
        times.append(max(0.0, (change.at - state.opened_at) / 60))
        passed.append(sum(standing.values()))
        stuck.append(len(standing) - passed[-1])
    ax.step(times, passed, where="post", color=COLORS[COMPLETED], linewidth=2, label="PASS")
    ax.step(times, stuck, where="post", color=COLORS["failure"], linewidth=2, label="NOT YET (stuck)")
    ax.set_ylim(bottom=0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False)
    return fig
