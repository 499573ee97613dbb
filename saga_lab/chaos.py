"""The chaos runner: many sagas at once, faults everywhere, workers and the server killed.

``await run_chaos(ChaosConfig(sagas=200, kill_workers=True))`` (or ``saga-lab chaos``)

1. starts one worker process per service under a :class:`~saga_lab.supervisor.WorkerSupervisor`,
   which restarts any that dies;
2. runs the sagas, ``concurrency`` (200) in flight at a time and the slowest plans first
   (:func:`expected_wait_s`), each with a seeded random :class:`~saga_lab.faults.FaultPlan`
   over every step and every fault kind, ``crash`` included (the activity does its work,
   then SIGKILLs its worker process);
3. with ``kill_workers``, SIGKILLs a random worker process (seeded) every ~2 s; with
   ``restart_server``, stops the embedded server once a third of the sagas have ended,
   and starts it again a second later (the histories live in its SQLite file);
4. waits for every saga until a deadline, then checks every order across the three
   databases and the workflow statuses (:func:`check_order`), and adds up the money.

The result is a :class:`ChaosResult`: one :class:`OrderRow` per saga (status, fault
plan, latency, consistent or not, why) for tables and plots, the counts, the money and
what happened to the worker processes. ``result.ok`` is False when an order is
inconsistent or lost, or money is not conserved.

Choices, and why:

* **Order ids** are ``chaos-<run>-<seed>-<i>``. The run id is fresh for every run
  (6 hex digits), so runs never collide even with the same seed in the same data
  directory; give ``run_id`` to attach to an earlier run's workflows and check them
  again. The fault plans and amounts depend only on ``seed`` and ``i``, so the same
  seed repeats the same chaos.
* **Fault plans**: ``FaultPlan.random(seed * 100003 + i, fault_rate, kinds=ALL_KINDS,
  max_times=2)``: a faulty forward step fails at most twice, so with its 5 attempts it
  recovers unless the fault is ``permanent`` (or kills add lost attempts).
* **A server restart** needs the embedded server. With ``TEMPORAL_ADDRESS`` set the
  server is not ours to stop: the restart is skipped and the result says so in one line
  (``server_restart["skipped"]``) rather than failing the run.
* **Outages**: a client call that fails with ``RPCError`` (the server is restarting)
  is retried with a short growing pause until the run's deadline.
* **Lost**: a saga whose workflow is missing or has not ended by the deadline
  (default ``120 s + 0.5 s`` per saga). Its workflow is left as it is: it goes on when
  workers poll again (``saga-lab worker``), and ``run_id`` checks it later.
* **In flight**: 200 sagas, not all N at once: see :data:`DEFAULT_CONCURRENCY`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from . import config as lab_config
from . import server
from .faults import ALL_KINDS, CRASH, STEPS, TIMEOUT, TRANSIENT, FaultPlan
from .supervisor import SERVICES, WorkerSupervisor

COMPLETED, COMPENSATED, FAILED, LOST = "COMPLETED", "COMPENSATED", "FAILED", "LOST"
STATUSES = (COMPLETED, COMPENSATED, FAILED, LOST)

#: What each compensation undoes, and the words of the saga's "needs a person" error.
COMPENSATION_NAMES = ("cancel_shipment", "cancel_order", "refund")

DEFAULT_MAX_TIMES = 2
DEFAULT_KILL_INTERVAL_S = 2.0
#: How long the embedded server stays down during ``restart_server``.
SERVER_DOWN_S = 0.5
#: Sagas in flight at once. Not all N: a killed workflow worker's successor replays every
#: saga in flight, and a crashed activity worker loses every attempt in flight, so more in
#: flight costs CPU without adding throughput (measured at 1000 sagas: 120 and 250 in
#: flight gave the same 8 sagas/s; all 1000 at once took 232 s instead of 125 s).
DEFAULT_CONCURRENCY = 200

#: ``saga-lab chaos`` exits with this when an order is inconsistent or lost (1 and 2 are taken:
#: server unreachable, bad input).
EXIT_INCONSISTENT = 3

#: RPC errors that cannot be cured by waiting: anything else is retried until the deadline.
_PERMANENT_RPC = {"INVALID_ARGUMENT", "ALREADY_EXISTS", "PERMISSION_DENIED", "UNAUTHENTICATED", "UNIMPLEMENTED"}

T = TypeVar("T")


class ChaosConfigError(ValueError):
    """A chaos configuration that cannot run, said in one line."""


@dataclass
class ChaosConfig:
    """What to run. ``deadline_s=None`` means 120 s plus 0.5 s per saga."""

    sagas: int = 200
    fault_rate: float = 0.3
    seed: int = 1
    kill_workers: bool = False
    restart_server: bool = False
    kill_interval_s: float = DEFAULT_KILL_INTERVAL_S
    max_times: int = DEFAULT_MAX_TIMES
    deadline_s: float | None = None
    run_id: str | None = None
    #: The services' data directory (default: :func:`saga_lab.config.home`).
    home: Path | None = None
    #: How worker processes start: "fork" (from a pre-imported zygote) or "exec"; None picks.
    worker_mode: str | None = None
    #: Sagas in flight at once; the next starts when one ends (0: all of them at once).
    concurrency: int = DEFAULT_CONCURRENCY

    def validate(self) -> None:
        if isinstance(self.sagas, bool) or not isinstance(self.sagas, int) or self.sagas <= 0:
            raise ChaosConfigError(f"the number of sagas must be a whole number of at least 1, got {self.sagas!r}")
        if self.sagas > 100_000:
            raise ChaosConfigError(f"at most 100000 sagas per run, got {self.sagas}")
        if not isinstance(self.fault_rate, (int, float)) or not 0.0 <= self.fault_rate <= 1.0:
            raise ChaosConfigError(f"the fault rate must be from 0 to 1, got {self.fault_rate!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 10**9:
            raise ChaosConfigError(f"the seed must be a whole number from 0 to 999999999, got {self.seed!r}")
        if not 0.05 <= self.kill_interval_s <= 3600:
            raise ChaosConfigError(f"the kill interval must be from 0.05 to 3600 s, got {self.kill_interval_s!r}")
        if not isinstance(self.max_times, int) or not 1 <= self.max_times <= 10:
            raise ChaosConfigError(f"max_times must be from 1 to 10, got {self.max_times!r}")
        if self.deadline_s is not None and not self.deadline_s > 0:
            raise ChaosConfigError(f"the deadline must be more than 0 s, got {self.deadline_s!r}")
        if self.run_id is not None and not re.fullmatch(r"[A-Za-z0-9]{1,16}", self.run_id):
            raise ChaosConfigError(f"a run id is 1 to 16 letters or digits, got {self.run_id!r}")
        if not isinstance(self.concurrency, int) or self.concurrency < 0:
            raise ChaosConfigError(f"concurrency must be a whole number of at least 0, got {self.concurrency!r}")
        if self.worker_mode not in (None, "fork", "exec"):
            raise ChaosConfigError(f"worker_mode must be 'fork' or 'exec', got {self.worker_mode!r}")

    @property
    def deadline(self) -> float:
        return self.deadline_s if self.deadline_s is not None else 120.0 + 0.5 * self.sagas


def saga_plan(seed: int, i: int, fault_rate: float, max_times: int = DEFAULT_MAX_TIMES) -> FaultPlan:
    """The fault plan of saga ``i`` of a run with ``seed``: every step, every kind."""
    return FaultPlan.random(seed * 100003 + i, fault_rate, STEPS, max_times, ALL_KINDS)


def saga_amount(seed: int, i: int) -> int:
    """The amount of saga ``i`` in cents (1.00 to 1000.00), seeded like its plan."""
    return random.Random(f"amount:{seed}:{i}").randint(100, 100_000)


def expected_wait_s(plan: FaultPlan) -> float:
    """Roughly how long ``plan``'s faults make a saga wait, for starting the slowest first.

    A timeout or crash costs a 2 s start-to-close timeout per attempt, a transient fault
    a retry back-off. Started first, slow sagas overlap the fast ones instead of trailing
    after them: the run ends when its slowest saga does.
    """
    wait = 0.0
    for fault in plan.faults.values():
        if fault.kind in (TIMEOUT, CRASH):
            wait += 2.2 * fault.times
        elif fault.kind == TRANSIENT:
            wait += 0.3 * fault.times
        else:
            wait += 1.0  # a permanent fault: the compensations run
    return wait


# ---------------------------------------------------------------- checking one order


@dataclass
class OrderFacts:
    """What the three databases say about one order."""

    charges: int = 0
    charged: int = 0
    refunded: int = 0
    order_status: str | None = None
    order_amount: int | None = None
    shipments: list[str] = field(default_factory=list)

    @property
    def net(self) -> int:
        return self.charged - self.refunded

    @property
    def live_shipments(self) -> int:
        return sum(1 for status in self.shipments if status == "CREATED")


def failed_compensations(error: str | None) -> list[str]:
    """The compensations a FAILED saga's error names as failed (``refund (reason); ...``)."""
    if not error or "compensations failed:" not in error:
        return []
    failed_part = error.split("compensations failed:", 1)[1].split("; skipped:", 1)[0]
    return [name for name in COMPENSATION_NAMES if re.search(rf"(^|; |\s){name} \(", failed_part)]


def check_order(
    status: str,
    amount: int,
    facts: OrderFacts,
    *,
    compensations: list[str] | None = None,
    error: str | None = None,
    workflow_status: str | None = None,
) -> str | None:
    """Why the order breaks the saga's promise, or None when it keeps it.

    * COMPLETED: one charge, net == amount, the order ACTIVE with that amount, exactly
      one shipment and it is CREATED; the workflow COMPLETED.
    * COMPENSATED: at most one charge, net == 0, the order CANCELLED or never created, no
      live shipment; the workflow COMPLETED (a compensated saga returns normally).
    * FAILED (a compensation failed for good; a person must finish it): the error names
      the failed compensations, and the state is what they explain: a failed refund
      leaves the charge (net == what was charged), a failed order cancellation leaves the
      order uncancelled; every compensation that did run has its effect; the workflow FAILED.
    * Anything else is inconsistent.
    """
    problems: list[str] = []
    expected_workflow = {COMPLETED: "COMPLETED", COMPENSATED: "COMPLETED", FAILED: "FAILED"}.get(status)
    if expected_workflow is None:
        return f"unexpected end status {status!r}"
    if workflow_status is not None and workflow_status != expected_workflow:
        problems.append(f"the workflow is {workflow_status}, expected {expected_workflow}")
    if facts.charges > 1:
        problems.append(f"charged {facts.charges} times")
    if status == COMPLETED:
        if facts.charges != 1:
            problems.append(f"{facts.charges} charges, expected 1")
        if facts.net != amount:
            problems.append(f"net {facts.net}, expected the amount {amount}")
        if facts.order_status != "ACTIVE" or facts.order_amount != amount:
            problems.append(f"order {facts.order_status} ({facts.order_amount}), expected ACTIVE ({amount})")
        if facts.shipments != ["CREATED"]:
            problems.append(f"shipments {facts.shipments}, expected one CREATED")
    elif status == COMPENSATED:
        if facts.net != 0:
            problems.append(f"net {facts.net}, expected 0")
        if facts.order_status not in (None, "CANCELLED"):
            problems.append(f"order {facts.order_status}, expected CANCELLED or none")
        if facts.live_shipments:
            problems.append(f"shipments {facts.shipments}: one is still live")
    else:
        failed = failed_compensations(error)
        done = list(compensations or [])
        if not failed:
            problems.append(f"FAILED, but no failed compensation is named: {error!r}")
        if "refund" in done and facts.net != 0:
            problems.append(f"refunded, yet net {facts.net}")
        if "refund" in failed and facts.refunded != 0:
            problems.append(f"the refund failed, yet {facts.refunded} was refunded")
        if "refund" not in done + failed and facts.charged != 0:
            problems.append(f"charged {facts.charged} with no refund attempted")
        if "cancel_order" in done and facts.order_status != "CANCELLED":
            problems.append(f"order cancelled, yet {facts.order_status}")
        if "cancel_order" in failed and facts.order_status == "CANCELLED":
            problems.append("the order cancellation failed, yet the order is CANCELLED")
        if "cancel_order" not in done + failed and facts.order_status is not None:
            problems.append(f"order {facts.order_status} with no cancellation attempted")
        if "cancel_shipment" not in failed and facts.live_shipments:
            problems.append(f"shipments {facts.shipments}: one is still live")
    return "; ".join(problems) or None


# ---------------------------------------------------------------- the result


@dataclass
class OrderRow:
    """One saga of a chaos run, as a row for tables and plots.

    ``status`` is COMPLETED, COMPENSATED, FAILED or LOST. ``consistent`` is None for a
    lost saga (not checked: it has not ended). ``fault_point`` is the first step (in the
    saga's order) that has a fault, or "none"; ``fault_points`` lists every ``step=kind``.
    """

    order_id: str
    index: int
    amount: int
    faults: str
    fault_points: list[str]
    fault_point: str
    status: str
    latency_s: float | None
    #: Seconds from the start of the run to the saga's end (None: lost).
    ended_s: float | None
    consistent: bool | None
    problem: str | None = None
    workflow_status: str | None = None
    compensations: list[str] = field(default_factory=list)
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

    config: ChaosConfig
    run_id: str
    prefix: str
    server_address: str
    elapsed_s: float
    orders: list[OrderRow]
    money: dict[str, Any]
    workers: dict[str, dict]
    server_restart: dict[str, Any] | None
    events: list[ChaosEvent]

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.status for row in self.orders)
        return {status: found.get(status, 0) for status in STATUSES}

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
    def ok(self) -> bool:
        return not self.inconsistent and not self.lost and bool(self.money.get("conserved"))

    @property
    def throughput(self) -> float:
        return len(self.orders) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def fault_points(self) -> dict[str, dict[str, int]]:
        """``{"charge=crash": {"sagas": n, "COMPLETED": a, ...}, ..., "none": {...}}``."""
        table: dict[str, Counter] = {}
        for row in self.orders:
            for point in row.fault_points or ["none"]:
                table.setdefault(point, Counter())[row.status] += 1
        ordered = sorted(table, key=_fault_point_key)
        return {
            point: {"sagas": sum(table[point].values()), **{s: table[point].get(s, 0) for s in STATUSES}}
            for point in ordered
        }

    def latency(self) -> dict[str, float | None]:
        values = sorted(row.latency_s for row in self.orders if row.latency_s is not None)
        if not values:
            return {"p50_s": None, "p95_s": None, "max_s": None}
        p95 = values[max(0, round(0.95 * len(values)) - 1)]
        return {"p50_s": round(statistics.median(values), 2), "p95_s": round(p95, 2), "max_s": round(values[-1], 2)}

    def to_dict(self, rows: bool = False) -> dict:
        cfg = self.config
        out = {
            "ok": self.ok,
            "run_id": self.run_id,
            "order_id_prefix": self.prefix,
            "server": self.server_address,
            "sagas": cfg.sagas,
            "fault_rate": cfg.fault_rate,
            "seed": cfg.seed,
            "kill_workers": cfg.kill_workers,
            "restart_server": cfg.restart_server,
            "elapsed_s": round(self.elapsed_s, 2),
            "sagas_per_s": round(self.throughput, 2),
            "latency": self.latency(),
            "status": self.counts,
            "fault_points": self.fault_points(),
            "inconsistent": [_brief(row) for row in self.inconsistent],
            "lost": [_brief(row) for row in self.lost],
            "needs_a_person": [row.order_id for row in self.needs_a_person],
            "money": self.money,
            "workers": self.workers,
            "server_restart": self.server_restart,
        }
        if rows:
            out["orders"] = [row.to_dict() for row in self.orders]
        return out

    def report(self) -> str:
        """The summary as text, as ``saga-lab chaos`` prints it."""
        cfg, counts, money = self.config, self.counts, self.money
        chaos = [f"fault rate {cfg.fault_rate:g}"]
        if cfg.kill_workers:
            chaos.append(f"a worker killed every ~{cfg.kill_interval_s:g} s")
        if cfg.restart_server and not (self.server_restart or {}).get("skipped"):
            chaos.append("one server restart")
        lines = [
            f"chaos run {self.run_id} (seed {cfg.seed}): {len(self.orders)} sagas, {', '.join(chaos)}; "
            f"{self.elapsed_s:.1f} s, {self.throughput:.1f} sagas/s",
            f"end status: COMPLETED {counts[COMPLETED]}, COMPENSATED {counts[COMPENSATED]}, "
            f"FAILED {counts[FAILED]} (a compensation failed: needs a person), LOST {counts[LOST]}",
        ]
        lat = self.latency()
        if lat["p50_s"] is not None:
            lines.append(f"latency: median {lat['p50_s']:.1f} s, p95 {lat['p95_s']:.1f} s, max {lat['max_s']:.1f} s")
        lines.append("")
        lines += _fault_table(self.fault_points())
        lines.append("")
        total = self.workers.get("total", {})
        lines.append(
            f"workers: {total.get('restarts', 0)} restarts ({total.get('crashes', 0)} crash faults, "
            f"{total.get('kills', 0)} scheduled kills, {total.get('exits', 0)} exits)"
        )
        if self.server_restart is None:
            pass
        elif "skipped" in self.server_restart:
            lines.append(f"server restart: skipped: {self.server_restart['skipped']}")
        elif "error" in self.server_restart:
            lines.append(f"server restart: FAILED: {self.server_restart['error']}")
        else:
            r = self.server_restart
            lines.append(f"server restart: stopped at {r['at_s']:.1f} s, answering again {r['down_s']:.1f} s later")
        lines += [
            "",
            f"money: charged {_cents(money['charged'])}, refunded {_cents(money['refunded'])}, "
            f"net {_cents(money['net'])}",
            f"  completed orders: net {_cents(money['net_completed'])}, their amounts "
            f"{_cents(money['amount_completed'])} "
            f"{'ok' if money['net_completed'] == money['amount_completed'] else 'MISMATCH'}",
            f"  compensated orders: net {_cents(money['net_compensated'])} "
            f"{'ok' if money['net_compensated'] == 0 else 'MISMATCH'}",
            f"  failed orders (needs a person): net {_cents(money['net_failed'])} still held",
            f"  money conserved: {'yes' if money['conserved'] else 'NO'}",
            "",
            f"inconsistent orders: {len(self.inconsistent)}   lost orders: {len(self.lost)}",
        ]
        for row in (self.inconsistent + self.lost)[:20]:
            lines.append(f"  {row.order_id} {row.status} [{row.faults}]: {row.problem}")
        if len(self.inconsistent) + len(self.lost) > 20:
            lines.append(f"  ... and {len(self.inconsistent) + len(self.lost) - 20} more (see --json)")
        return "\n".join(lines)


def _brief(row: OrderRow) -> dict:
    return {"order_id": row.order_id, "status": row.status, "faults": row.faults, "problem": row.problem}


def _cents(value: int) -> str:
    return f"{value / 100:,.2f}"


def _fault_point_key(point: str) -> tuple:
    step, _, kind = point.partition("=")
    order = STEPS.index(step) if step in STEPS else len(STEPS)
    return (order, ALL_KINDS.index(kind) if kind in ALL_KINDS else len(ALL_KINDS), point)


def _fault_table(points: dict[str, dict[str, int]]) -> list[str]:
    """Steps down, fault kinds across: sagas with that fault, and how many ended FAILED."""
    head = ["fault point"] + list(ALL_KINDS)
    rows = [head]
    for step in STEPS:
        cells = [step]
        for kind in ALL_KINDS:
            entry = points.get(f"{step}={kind}")
            failed = f" ({entry[FAILED]} F)" if entry and entry[FAILED] else ""
            cells.append("-" if entry is None else f"{entry['sagas']}{failed}")
        rows.append(cells)
    none = points.get("none", {}).get("sagas", 0)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    text = ["sagas per fault point (F: ended FAILED)"]
    text += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    text.append(f"  sagas with no fault: {none}")
    return text


# ---------------------------------------------------------------- progress displays


class LineProgress:
    """Plain progress lines (for logs and pipes): every 10 % and at most every 5 s."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 5.0) -> None:
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self._last_t = -1e9
        self._last_tenth = -1

    def __call__(self, p: ChaosProgress) -> None:
        if p.event is not None and p.event.kind in ("server stopped", "server started", "server restart skipped"):
            print(f"chaos: {p.event.at_s:5.1f} s  {p.event.kind}: {p.event.detail}", file=self.stream, flush=True)
            return
        if p.event is not None:
            return
        tenth = p.done * 10 // p.total
        if p.done == p.total or tenth > self._last_tenth or p.elapsed_s - self._last_t >= self.every_s:
            self._last_tenth, self._last_t = tenth, p.elapsed_s
            counts = ", ".join(f"{k} {v}" for k, v in p.counts.items() if v)
            print(
                f"chaos: {p.elapsed_s:5.1f} s  {p.done}/{p.total} ended ({counts or 'none yet'}); "
                f"{p.restarts} worker restarts",
                file=self.stream,
                flush=True,
            )

    def close(self) -> None:
        pass


class TqdmProgress:
    """A tqdm bar on ``stream`` (default stderr): text on a terminal and in a notebook.

    A widget bar would need ``ipywidgets``, which the lab does not install; without it
    ``tqdm.auto`` only warns and falls back to text, so text it is from the start.
    """

    def __init__(self, total: int | None = None, stream: TextIO | None = None) -> None:
        self._bar = None
        self._total = total
        self._stream = stream or sys.stderr

    def __call__(self, p: ChaosProgress) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=p.total, desc="sagas", unit="saga", file=self._stream, dynamic_ncols=True)
        if p.event is not None:
            if p.event.kind.startswith("server"):
                self._bar.write(f"{p.event.at_s:5.1f} s  {p.event.kind}: {p.event.detail}", file=self._stream)
            return
        self._bar.n = p.done
        short = {COMPLETED: "ok", COMPENSATED: "comp", FAILED: "failed"}
        self._bar.set_postfix_str(
            " ".join(f"{short.get(k, k)}={v}" for k, v in p.counts.items() if v) + f" restarts={p.restarts}",
            refresh=False,
        )
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


# ---------------------------------------------------------------- the run


async def run_chaos(
    config: ChaosConfig,
    progress: Callable[[ChaosProgress], None] | None = None,
    *,
    info: server.ServerInfo | None = None,
) -> ChaosResult:
    """Run the chaos described by ``config`` and check every order; see the module doc.

    ``info`` is the server to use (default: :func:`saga_lab.server.ensure_server`).
    Raises :class:`ChaosConfigError` for a bad config (before anything starts) and
    :class:`saga_lab.server.ServerError` when no server can be reached.
    """
    config.validate()
    if info is None:
        info = await asyncio.to_thread(server.ensure_server)
    run = _Run(config, info, progress)
    return await run.run()


class _Run:
    def __init__(self, config: ChaosConfig, info: server.ServerInfo, progress) -> None:
        self.config = config
        self.info = info
        self.progress = progress
        self.home = Path(config.home) if config.home is not None else lab_config.home()
        self.run_id = config.run_id or uuid.uuid4().hex[:6]
        self.prefix = f"chaos-{self.run_id}-{config.seed}-"
        self.rows: dict[int, dict] = {}
        self.counts = {COMPLETED: 0, COMPENSATED: 0, FAILED: 0}
        self.events: list[ChaosEvent] = []
        self.t0 = time.monotonic()
        self.deadline = self.t0 + config.deadline
        self.third_done = asyncio.Event()
        self.supervisor: WorkerSupervisor | None = None
        self.server_restart: dict[str, Any] | None = None
        self._server_down = False
        self._server_stop: asyncio.Future | None = None
        self._server_start: asyncio.Future | None = None

    # -------------------------------------------------------------- helpers

    def _elapsed(self) -> float:
        return time.monotonic() - self.t0

    def _notify(self, event: ChaosEvent | None = None) -> None:
        if event is not None:
            self.events.append(event)
        if self.progress is None:
            return
        restarts = self.supervisor.totals()["restarts"] if self.supervisor else 0
        done = sum(self.counts.values())
        try:
            self.progress(ChaosProgress(done, self.config.sagas, dict(self.counts), self._elapsed(), restarts, event))
        except Exception:  # a display must never stop the run
            logging.getLogger(__name__).debug("progress callback failed", exc_info=True)

    def _worker_event(self, kind: str, service: str, pid: int, detail: str) -> None:
        if kind != "started":
            self._notify(ChaosEvent(round(self._elapsed(), 3), f"worker {kind}", f"{service} (pid {pid}): {detail}"))

    async def _retry(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again after an ``RPCError`` (the server is away), until the deadline."""
        from temporalio.service import RPCError

        pause = 0.1
        while True:
            try:
                return await call()
            except RPCError as err:
                if err.status.name in _PERMANENT_RPC or time.monotonic() + pause > self.deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    # ---------------------------------------------------------------- phases

    async def run(self) -> ChaosResult:
        self.client = await server.connect(self.info)
        env = {
            "SAGA_LAB_HOME": str(self.home),
            "TEMPORAL_ADDRESS": self.info.address,
            "TEMPORAL_NAMESPACE": self.info.namespace,
        }
        self.supervisor = WorkerSupervisor(
            SERVICES,
            env=env,
            log_path=self.home / "chaos-workers.log",
            mode=self.config.worker_mode,
            on_event=self._worker_event,
        )
        self.home.mkdir(parents=True, exist_ok=True)
        chaos: list[asyncio.Task] = []
        restart_settings = self._restart_settings()
        try:
            await self.supervisor.start()
            self.t0 = time.monotonic()
            self.deadline = self.t0 + self.config.deadline
            gate = asyncio.Semaphore(self.config.concurrency or self.config.sagas)
            cfg = self.config
            waits = [expected_wait_s(saga_plan(cfg.seed, i, cfg.fault_rate, cfg.max_times)) for i in range(cfg.sagas)]
            slow_first = sorted(range(cfg.sagas), key=lambda i: -waits[i])
            sagas = [asyncio.create_task(self._saga(i, gate)) for i in slow_first]
            if self.config.kill_workers:
                chaos.append(asyncio.create_task(self._kill_workers()))
            if restart_settings is not None:
                chaos.append(asyncio.create_task(self._restart_server(restart_settings)))
            _, pending = await asyncio.wait(sagas, timeout=max(0.0, self.deadline - time.monotonic()))
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            elapsed = self._elapsed()
            for task in chaos:
                task.cancel()
            await asyncio.gather(*chaos, return_exceptions=True)
        finally:
            for task in chaos:
                task.cancel()
            if self._server_down:  # interrupted while the server was down: never leave it down
                if self._server_stop is not None:
                    await asyncio.gather(self._server_stop, return_exceptions=True)
                await (self._server_start or asyncio.to_thread(server.start, restart_settings))
            await self.supervisor.stop()
        if restart_settings is not None and self.server_restart is None:
            self.server_restart = {"skipped": "every saga ended before a third of them had (too few sagas)"}
        return await self._check(elapsed)

    def _restart_settings(self) -> server.ServerSettings | None:
        if not self.config.restart_server:
            return None
        if not self.info.embedded or not self.info.db_path:
            reason = (
                f"the server at {self.info.address} is not the embedded one (TEMPORAL_ADDRESS is set); "
                "saga-lab only restarts a server it manages"
            )
            self.server_restart = {"skipped": reason}
            self._notify(ChaosEvent(0.0, "server restart skipped", reason))
            return None
        port = int(self.info.address.rsplit(":", 1)[1])
        ui_port = int(self.info.ui_url.rsplit(":", 1)[1]) if self.info.ui_url else server.free_port()
        return server.ServerSettings(
            home=Path(self.info.db_path).parent, port=port, ui_port=ui_port, namespace=self.info.namespace
        )

    async def _saga(self, i: int, gate: asyncio.Semaphore) -> None:
        from .checkout import order_result, start_order

        cfg = self.config
        order_id = f"{self.prefix}{i}"
        amount = saga_amount(cfg.seed, i)
        plan = saga_plan(cfg.seed, i, cfg.fault_rate, cfg.max_times)
        row = self.rows[i] = {"order_id": order_id, "amount": amount, "plan": plan}
        async with gate:
            began = time.monotonic()
            try:
                handle = await self._retry(lambda: start_order(self.client, order_id, amount, plan))
                result = await self._retry(lambda: order_result(handle))
            except Exception as err:  # the saga is reported lost, with what went wrong
                row["failure"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                return
            row["latency_s"] = time.monotonic() - began
            row["ended_s"] = self._elapsed()
        row["result"] = result
        if result.status in self.counts:
            self.counts[result.status] += 1
        if sum(self.counts.values()) * 3 >= cfg.sagas:
            self.third_done.set()
        self._notify()

    async def _kill_workers(self) -> None:
        rng = random.Random(f"kills:{self.config.seed}")
        while True:
            await asyncio.sleep(self.config.kill_interval_s * rng.uniform(0.5, 1.5))
            service = rng.choice(SERVICES)
            assert self.supervisor is not None
            await self.supervisor.kill(service)

    async def _restart_server(self, settings: server.ServerSettings) -> None:
        try:
            await self._stop_and_start_server(settings)
        except server.ServerError as err:
            self.server_restart = {"error": str(err)}
            self._notify(ChaosEvent(round(self._elapsed(), 2), "server restart failed", str(err)))
            raise

    async def _stop_and_start_server(self, settings: server.ServerSettings) -> None:
        await self.third_done.wait()
        at = self._elapsed()
        self._notify(ChaosEvent(round(at, 2), "server stopped", f"{settings.address}"))
        self._server_down = True
        self._server_stop = asyncio.ensure_future(asyncio.to_thread(server.stop, settings))
        await asyncio.shield(self._server_stop)
        await asyncio.sleep(SERVER_DOWN_S)
        self._server_start = asyncio.ensure_future(asyncio.to_thread(server.start, settings))
        await asyncio.shield(self._server_start)
        self._server_down = False
        down = self._elapsed() - at
        self.server_restart = {"at_s": round(at, 2), "down_s": round(down, 2)}
        self._notify(ChaosEvent(round(self._elapsed(), 2), "server started", f"answering again after {down:.1f} s"))

    # ---------------------------------------------------------------- checking

    async def _check(self, elapsed: float) -> ChaosResult:
        from temporalio.service import RPCError

        facts = await asyncio.to_thread(self._read_databases)
        gate = asyncio.Semaphore(50)
        self.deadline = max(self.deadline, time.monotonic() + 30)  # the checks get their own time

        async def describe(order_id: str) -> str | None:
            async with gate:
                try:
                    described = await self._retry(lambda: self.client.get_workflow_handle(order_id).describe())
                except RPCError:
                    return None
            return described.status.name if described.status else None

        statuses = await asyncio.gather(*(describe(f"{self.prefix}{i}") for i in range(self.config.sagas)))
        orders = [
            self._row(i, statuses[i], facts.get(f"{self.prefix}{i}", OrderFacts())) for i in range(self.config.sagas)
        ]
        return ChaosResult(
            config=self.config,
            run_id=self.run_id,
            prefix=self.prefix,
            server_address=self.info.address,
            elapsed_s=elapsed,
            orders=orders,
            money=_money(orders),
            workers={
                **{name: stats.to_dict() for name, stats in self.supervisor.stats.items()},
                "total": self.supervisor.totals(),
            },
            server_restart=self.server_restart,
            events=self.events,
        )

    def _read_databases(self) -> dict[str, OrderFacts]:
        """Every row of this run in the three databases, grouped by order id."""
        from .services import open_services

        services = open_services(self.home)
        facts: dict[str, OrderFacts] = {}
        for entry in services.payment.ledger():
            if entry.order_id.startswith(self.prefix):
                f = facts.setdefault(entry.order_id, OrderFacts())
                if entry.kind == "charge":
                    f.charges += 1
                    f.charged += entry.amount
                else:
                    f.refunded -= entry.amount
        for order in services.orders.all_orders():
            if order.order_id.startswith(self.prefix):
                f = facts.setdefault(order.order_id, OrderFacts())
                f.order_status, f.order_amount = order.status, order.amount
        for shipment in services.shipping.all_shipments():
            if shipment.order_id.startswith(self.prefix):
                facts.setdefault(shipment.order_id, OrderFacts()).shipments.append(shipment.status)
        return facts

    def _row(self, i: int, workflow_status: str | None, facts: OrderFacts) -> OrderRow:
        cfg = self.config
        data = self.rows.get(i) or {
            "order_id": f"{self.prefix}{i}",
            "amount": saga_amount(cfg.seed, i),
            "plan": saga_plan(cfg.seed, i, cfg.fault_rate, cfg.max_times),
        }
        plan: FaultPlan = data["plan"]
        points = [f"{step}={fault.kind}" for step, fault in plan.faults.items()]
        result = data.get("result")
        row = OrderRow(
            order_id=data["order_id"],
            index=i,
            amount=data["amount"],
            faults=str(plan),
            fault_points=points,
            fault_point=next(iter(plan.faults), "none"),
            status=LOST,
            latency_s=None,
            ended_s=None,
            consistent=None,
            workflow_status=workflow_status,
            net=facts.net,
            charged=facts.charged,
            refunded=facts.refunded,
            order_status=facts.order_status,
            shipments=list(facts.shipments),
        )
        if result is None:
            if "failure" in data:
                row.problem = f"the runner could not follow it: {data['failure']}"
            elif workflow_status is None:
                row.problem = "no workflow with this id"
            elif workflow_status == "RUNNING":
                row.problem = f"the workflow was still running at the {cfg.deadline:.0f} s deadline"
            else:
                row.problem = f"the workflow ended {workflow_status} only after the {cfg.deadline:.0f} s deadline"
            return row
        row.status = result.status
        row.latency_s = round(data["latency_s"], 3)
        row.ended_s = round(data["ended_s"], 3)
        row.compensations = list(result.compensations)
        row.failed_step, row.error = result.failed_step, result.error
        row.problem = check_order(
            result.status,
            row.amount,
            facts,
            compensations=result.compensations,
            error=result.error,
            workflow_status=workflow_status,
        )
        row.consistent = row.problem is None
        return row


def _money(orders: list[OrderRow]) -> dict[str, Any]:
    """Ledger totals of the run, and the two promises: completed == amounts, compensated == 0."""

    def net_of(status: str) -> int:
        return sum(row.net for row in orders if row.status == status)

    money = {
        "charged": sum(row.charged for row in orders),
        "refunded": sum(row.refunded for row in orders),
        "net": sum(row.net for row in orders),
        "net_completed": net_of(COMPLETED),
        "amount_completed": sum(row.amount for row in orders if row.status == COMPLETED),
        "net_compensated": net_of(COMPENSATED),
        "net_failed": net_of(FAILED),
        "net_lost": net_of(LOST),
    }
    money["conserved"] = money["net_completed"] == money["amount_completed"] and money["net_compensated"] == 0
    return money


__all__ = [
    "EXIT_INCONSISTENT",
    "ChaosConfig",
    "ChaosConfigError",
    "ChaosEvent",
    "ChaosProgress",
    "ChaosResult",
    "LineProgress",
    "OrderFacts",
    "OrderRow",
    "TqdmProgress",
    "check_order",
    "expected_wait_s",
    "failed_compensations",
    "run_chaos",
    "saga_amount",
    "saga_plan",
]
