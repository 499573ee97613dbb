"""What a chaos run found (one row per saga, the counts, the money) and how it is shown: text, JSON, progress."""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

from ..config import STEPS
from ..faults import ALL_KINDS
from ..models import COMPENSATED, COMPLETED, FAILED
from ..notebook import Table

#: A saga whose workflow had not ended (or could not be followed) by the run's deadline.
LOST = "LOST"
STATUSES = (COMPLETED, COMPENSATED, FAILED, LOST)
#: The events the progress displays show (every saga's end is counted, not shown).
SHOWN = ("server", "late")


@dataclass
class OrderRow:
    """One saga of a chaos run, for tables and plots. ``consistent`` is None when it was not checked (lost)."""

    order_id: str
    index: int
    amount: int
    faults: str
    #: Every ``step=kind`` of its plan; ``fault_point`` is the first (in the saga's order), or "none".
    fault_points: list[str]
    fault_point: str = "none"
    status: str = LOST
    latency_s: float | None = None
    consistent: bool | None = None
    problem: str | None = None
    workflow_status: str | None = None
    compensations: list[str] = field(default_factory=list)
    failed_compensations: list[str] = field(default_factory=list)
    failed_step: str | None = None
    error: str | None = None
    net: int = 0
    charged: int = 0
    refunded: int = 0
    order_status: str | None = None
    shipments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ChaosEvent:
    """Something the chaos did, ``at_s`` seconds after the sagas started."""

    at_s: float
    kind: str
    detail: str


@dataclass
class ChaosProgress:
    """Handed to the ``progress`` callback as sagas end and chaos happens."""

    done: int
    total: int
    counts: dict[str, int]
    elapsed_s: float
    restarts: int
    event: ChaosEvent | None = None


@dataclass
class ChaosResult:
    """Everything a chaos run found; ``to_dict()`` is what ``saga-lab chaos --json`` prints."""

    config: Any
    run_id: str
    prefix: str
    server_address: str
    #: Seconds from the first saga's start to the last saga's end.
    elapsed_s: float
    orders: list[OrderRow]
    workers: dict[str, dict]
    server_restart: dict[str, Any] | None = None
    events: list[ChaosEvent] = field(default_factory=list)
    #: Seconds waited after the last saga for late work to land, before the databases were read.
    late_wait_s: float = 0.0
    #: Late work the worker processes held, landed, and lost (held by a process killed before it landed).
    late_work: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.status for row in self.orders)
        return {status: found[status] for status in STATUSES}

    @property
    def inconsistent(self) -> list[OrderRow]:
        return [row for row in self.orders if row.consistent is False]

    @property
    def lost(self) -> list[OrderRow]:
        return [row for row in self.orders if row.status == LOST]

    @property
    def needs_a_person(self) -> list[OrderRow]:
        return [row for row in self.orders if row.status == FAILED]

    @property
    def money(self) -> dict[str, Any]:
        """Ledger totals, and the two promises: completed orders net their amounts, compensated ones net 0."""
        money = {key: sum(getattr(row, key) for row in self.orders) for key in ("charged", "refunded", "net")}
        for status in STATUSES:
            money[f"net_{status.lower()}"] = sum(row.net for row in self.orders if row.status == status)
        money["amount_completed"] = sum(row.amount for row in self.orders if row.status == COMPLETED)
        money["conserved"] = money["net_completed"] == money["amount_completed"] and money["net_compensated"] == 0
        return money

    @property
    def ok(self) -> bool:
        return not self.inconsistent and not self.lost and self.money["conserved"]

    @property
    def throughput(self) -> float:
        return len(self.orders) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def fault_points(self) -> dict[str, dict[str, int]]:
        """``{"charge=crash": {"sagas": n, "COMPLETED": a, ...}, ..., "none": {...}}``, steps in saga order."""
        table: dict[str, Counter] = {}
        for row in self.orders:
            for point in row.fault_points or ["none"]:
                table.setdefault(point, Counter())[row.status] += 1
        order = [f"{step}={kind}" for step in STEPS for kind in ALL_KINDS] + ["none"]
        return {p: {"sagas": sum(table[p].values()), **{s: table[p][s] for s in STATUSES}} for p in order if p in table}

    def latency(self) -> dict[str, float | None]:
        values = sorted(row.latency_s for row in self.orders if row.latency_s is not None)
        if not values:
            return dict.fromkeys(("p50_s", "p95_s", "max_s"))
        p95 = values[max(0, round(0.95 * len(values)) - 1)]
        return {"p50_s": round(statistics.median(values), 2), "p95_s": round(p95, 2), "max_s": round(values[-1], 2)}

    def to_dict(self, rows: bool = False) -> dict:
        def brief(row: OrderRow) -> dict:
            return {key: getattr(row, key) for key in ("order_id", "status", "faults", "problem")}

        cfg = self.config
        return {
            "ok": self.ok,
            "run_id": self.run_id,
            "order_id_prefix": self.prefix,
            "server": self.server_address,
            **{key: getattr(cfg, key) for key in ("sagas", "fault_rate", "seed", "kill_workers", "restart_server")},
            "elapsed_s": round(self.elapsed_s, 2),
            "sagas_per_s": round(self.throughput, 2),
            "late_wait_s": round(self.late_wait_s, 2),
            "late_work": self.late_work,
            "latency": self.latency(),
            "status": self.counts,
            "fault_points": self.fault_points(),
            "inconsistent": [brief(row) for row in self.inconsistent],
            "lost": [brief(row) for row in self.lost],
            "needs_a_person": [row.order_id for row in self.needs_a_person],
            "money": self.money,
            "workers": self.workers,
            "server_restart": self.server_restart,
        } | ({"orders": [row.to_dict() for row in self.orders]} if rows else {})

    def report(self) -> str:
        """The summary as text, as ``saga-lab chaos`` prints it."""
        cfg, counts, money, lat, restart = self.config, self.counts, self.money, self.latency(), self.server_restart
        chaos = [f"fault rate {cfg.fault_rate:g}"]
        chaos += [f"a worker killed every ~{cfg.kill_interval_s:g} s"] if cfg.kill_workers else []
        chaos += ["one server restart"] if restart and "down_s" in restart else []
        lines = [
            f"chaos run {self.run_id} (seed {cfg.seed}): {len(self.orders)} sagas, {', '.join(chaos)}; "
            f"{self.elapsed_s:.1f} s, {self.throughput:.1f} sagas/s",
            f"end status: {', '.join(f'{s} {n}' for s, n in counts.items())} (FAILED: a compensation failed for good)",
        ]
        if lat["p50_s"] is not None:
            lines.append(f"latency: median {lat['p50_s']:.1f} s, p95 {lat['p95_s']:.1f} s, max {lat['max_s']:.1f} s")
        points = self.fault_points()
        cells = {p: f"{n['sagas']}" + (f" ({n[FAILED]} F)" if n[FAILED] else "") for p, n in points.items()}
        table = [
            {"fault point": step, **{kind: cells.get(f"{step}={kind}", "-") for kind in ALL_KINDS}} for step in STEPS
        ]
        lines += ["", repr(Table(table, title="sagas per fault point (F: ended FAILED)"))]
        lines.append(f"sagas with no fault: {points.get('none', {}).get('sagas', 0)}\n")
        total = self.workers.get("total", {})
        lines.append(
            f"workers: {total.get('restarts', 0)} restarts ({total.get('crashes', 0)} crash faults, "
            f"{total.get('kills', 0)} scheduled kills, {total.get('exits', 0)} exits)"
        )
        if restart and "down_s" in restart:
            lines.append(
                f"server restart: stopped at {restart['at_s']:.1f} s, up again {restart['down_s']:.1f} s later"
            )
        elif restart:
            lines.append(f"server restart: {'skipped' if 'skipped' in restart else 'FAILED'}: {[*restart.values()][0]}")
        if self.late_wait_s:
            lines.append(f"late work: waited {self.late_wait_s:.1f} s after the last saga for it to land")
        if self.late_work.get("held"):
            late = self.late_work
            lines.append(
                f"late work: {late['held']} held, {late['landed']} landed, {late['lost']} lost with a killed worker "
                "(it never reached its service)"
            )

        m = {key: f"{value / 100:,.2f}" if type(value) is int else value for key, value in money.items()}
        ok = {True: "ok", False: "MISMATCH"}
        lines += [
            f"\nmoney: charged {m['charged']}, refunded {m['refunded']}, net {m['net']}",
            f"  completed orders: net {m['net_completed']}, their amounts {m['amount_completed']} "
            f"{ok[money['net_completed'] == money['amount_completed']]}",
            f"  compensated orders: net {m['net_compensated']} {ok[money['net_compensated'] == 0]}",
            f"  failed orders (needs a person): net {m['net_failed']} still held",
            f"  money conserved: {'yes' if money['conserved'] else 'NO'}",
            f"\ninconsistent orders: {len(self.inconsistent)}   lost orders: {len(self.lost)}",
        ]
        wrong = self.inconsistent + self.lost
        lines += [f"  {row.order_id} {row.status} [{row.faults}]: {row.problem}" for row in wrong[:20]]
        lines += [f"  ... and {len(wrong) - 20} more (see --json)"] if len(wrong) > 20 else []
        return "\n".join(lines)


class LineProgress:
    """Progress as plain lines (terminals, logs, notebooks): every 10 % of the sagas, at most 5 s apart, events."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 5.0) -> None:
        self.stream, self.every_s, self._last = stream or sys.stderr, every_s, (-1, -1e9)

    def __call__(self, p: ChaosProgress) -> None:
        tenth = p.done * 10 // p.total
        if p.event is not None and p.event.kind.startswith(SHOWN):
            self.show(f"{p.event.at_s:5.1f} s  {p.event.kind}: {p.event.detail}")
        elif p.event is None and (
            p.done == p.total or tenth > self._last[0] or p.elapsed_s > self._last[1] + self.every_s
        ):
            self._last = (tenth, p.elapsed_s)
            self.show(f"{p.elapsed_s:5.1f} s  {p.done}/{p.total} ended ({_counts(p)}); {p.restarts} worker restarts")

    def show(self, line: str) -> None:
        print(f"chaos: {line}", file=self.stream, flush=True)


def _counts(p: ChaosProgress) -> str:
    return ", ".join(f"{status} {n}" for status, n in p.counts.items() if n) or "none yet"
