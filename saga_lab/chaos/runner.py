"""The chaos runner: many sagas at once, faults everywhere, workers and the server killed; then every order checked.

* Order ids are ``chaos-<run>-<seed>-<i>`` (``id_prefix`` replaces ``chaos``), a fresh run id each run
  (``run_id`` checks an old run again);
  plans and amounts depend only on ``seed`` and ``i``, so a seed repeats its chaos.
* Plans cover every step and kind, ``crash`` and ``late`` included, at most ``max_times`` (2) attempts
  each: a forward step recovers unless its fault is ``permanent``.
* ``concurrency`` (200) sagas are in flight, the slowest plans first: a killed workflow worker's
  successor replays every saga in flight, so more costs CPU without adding throughput.
* Late work lands up to :data:`~saga_lab.faults.LATE_AFTER_S` after its saga ended: the databases
  are read after that, the workers still running. Late work held by a worker that was killed never
  lands; the workers' journal counts it (``late_work`` in the result: held, landed, lost).
* The server restart needs an embedded server (it is skipped, and said so, with ``TEMPORAL_ADDRESS``);
  client calls ride out the outage (:func:`saga_lab.connection.connect` retries them). ``own_server``
  names an embedded server of the run's own (a notebook's sandbox): the run uses it, started if it
  is not running, and restarts only it, so the lab's server and the runs of other notebooks on it
  never see it go away.
* A saga not ended by the deadline (120 s + 0.5 s per saga) is lost; its workflow is left as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import checkout, connection, server
from ..config import ACTIONS, STEPS, home
from ..faults import ALL_KINDS, CRASH, LATE, LATE_AFTER_S, PERMANENT, TIMEOUT, TRANSIENT, FaultPlan, read_journal
from ..supervisor import WorkerSupervisor
from .checker import OrderFacts, check_order, read_facts
from .report import ChaosEvent, ChaosProgress, ChaosResult, OrderRow

DEFAULT_CONCURRENCY = 200
#: How long the embedded server stays down during ``restart_server``.
SERVER_DOWN_S = 0.5
#: ``saga-lab chaos`` exits with this when an order is inconsistent or lost (1 and 2 are taken).
EXIT_INCONSISTENT = 3


class ChaosConfigError(ValueError):
    """A chaos configuration that cannot run, said in one line."""


@dataclass
class ChaosConfig:
    """What to run. ``deadline_s=None``: 120 s plus 0.5 s per saga; ``concurrency=0``: every saga at once."""

    sagas: int = 200
    fault_rate: float = 0.3
    seed: int = 1
    kill_workers: bool = False
    restart_server: bool = False
    kill_interval_s: float = 2.0
    max_times: int = 2
    deadline_s: float | None = None
    run_id: str | None = None
    #: The services' data directory (default: :func:`saga_lab.config.home`).
    home: Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    #: The start of every order id (a notebook's sagas start ``nb11-``).
    id_prefix: str = "chaos"
    #: An embedded server of the run's own to run on and restart (started if it is not running); None: the lab's.
    own_server: server.ServerSettings | None = None

    def validate(self) -> None:
        limits = {"sagas": (1, 100_000), "fault_rate": (0.0, 1.0), "seed": (0, 10**9 - 1), "max_times": (1, 10)}
        limits |= {"kill_interval_s": (0.05, 3600.0), "concurrency": (0, 10**6), "deadline_s": (0.001, 1e7)}
        for name, (low, high) in limits.items():
            value, whole = getattr(self, name), type(low) is int
            if not (name == "deadline_s" and value is None) and (
                type(value) not in ((int,) if whole else (int, float)) or not low <= value <= high
            ):
                raise ChaosConfigError(f"{name} must be {'a whole number ' * whole}from {low} to {high}, got {value!r}")
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}", str(self.id_prefix)):
            raise ChaosConfigError(f"an id prefix is 1 to 32 letters, digits or '-', got {self.id_prefix!r}")
        if self.run_id is not None and not re.fullmatch(r"[A-Za-z0-9]{1,16}", str(self.run_id)):
            raise ChaosConfigError(f"a run id is 1 to 16 letters or digits, got {self.run_id!r}")

    @property
    def deadline(self) -> float:
        return self.deadline_s if self.deadline_s is not None else 120.0 + 0.5 * self.sagas


def saga_plan(seed: int, i: int, fault_rate: float, max_times: int = 2) -> FaultPlan:
    """The fault plan of saga ``i`` of a run with ``seed``: every step, every kind."""
    return FaultPlan.random(seed * 100003 + i, fault_rate, STEPS, max_times, ALL_KINDS)


def saga_amount(seed: int, i: int) -> int:
    """The amount of saga ``i`` in cents (1.00 to 1000.00), seeded like its plan."""
    return random.Random(f"amount:{seed}:{i}").randint(100, 100_000)


def expected_wait_s(plan: FaultPlan) -> float:
    """Roughly how long ``plan``'s faults hold its saga up: a lost reply costs a 2 s timeout per attempt.

    Late faults count most: their work lands long after, and the check waits for it.
    """
    per_attempt = {TIMEOUT: 2.2, CRASH: 2.2, LATE: LATE_AFTER_S, TRANSIENT: 0.3}
    faults = plan.faults.values()
    return sum(1.0 if f.kind == PERMANENT else f.seconds + per_attempt.get(f.kind, 0) * f.times for f in faults)


async def run_chaos(
    config: ChaosConfig,
    progress: Callable[[ChaosProgress], None] | None = None,
    *,
    info: server.ServerInfo | None = None,
) -> ChaosResult:
    """Run ``config`` on ``info`` (default: ``config.own_server``, else :func:`~saga_lab.connection.ensure_server`)
    and check every order.

    Raises :class:`ChaosConfigError` before anything starts, :class:`~saga_lab.server.ServerError` when no
    server can be reached.
    """
    config.validate()
    return await _Run(config, info or await asyncio.to_thread(_server_for, config), progress).run()


def _server_for(config: ChaosConfig) -> server.ServerInfo:
    """The run's own embedded server (started if it is not running), else the lab's."""
    return server.start(config.own_server) if config.own_server is not None else connection.ensure_server()


def _expected_retries(record: logging.LogRecord) -> bool:
    """Drop the client's "retried" warnings: the chaos restarts the server on purpose."""
    return "retried" not in record.getMessage()


class _Run:
    def __init__(self, config: ChaosConfig, info: server.ServerInfo, progress) -> None:
        self.config, self.info, self.progress = config, info, progress
        self.home = Path(config.home) if config.home is not None else home()
        self.run_id = config.run_id or uuid.uuid4().hex[:6]
        self.prefix = f"{config.id_prefix}-{self.run_id}-{config.seed}-"
        self.plans = [saga_plan(config.seed, i, config.fault_rate, config.max_times) for i in range(config.sagas)]
        self.ended: dict[int, tuple] = {}  # i: (OrderResult, latency s)
        self.failures: dict[int, str] = {}
        self.counts = {"COMPLETED": 0, "COMPENSATED": 0, "FAILED": 0}
        self.events: list[ChaosEvent] = []
        self.third_done, self.late_until, self.server_restart = asyncio.Event(), 0.0, None
        self.bounce: asyncio.Future | None = None  # the server's stop and start, while it runs
        log = self.home / "chaos-workers.log"
        self.late_journal = self.home / f"chaos-late-work-{self.run_id}.log"
        self.supervisor = WorkerSupervisor(info, self.home, log_path=log, late_journal=self.late_journal)
        self.t0 = time.monotonic()

    def _elapsed(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def _notify(self, event: ChaosEvent | None = None) -> None:
        self.events += [event] if event else []
        if self.progress is not None:
            done, restarts = sum(self.counts.values()), self.supervisor.totals()["restarts"]
            with contextlib.suppress(Exception):  # a display must never stop the run
                self.progress(
                    ChaosProgress(done, self.config.sagas, dict(self.counts), self._elapsed(), restarts, event)
                )

    async def run(self) -> ChaosResult:
        cfg = self.config
        self.client = await connection.connect(self.info)
        self.home.mkdir(parents=True, exist_ok=True)
        settings, sagas, chaos = self._restart_settings(), [], []
        connection.CORE_LOGGER.addFilter(_expected_retries)
        try:
            await self.supervisor.start()
            self.t0, gate = time.monotonic(), asyncio.Semaphore(cfg.concurrency or cfg.sagas)
            slow_first = sorted(range(cfg.sagas), key=lambda i: -expected_wait_s(self.plans[i]))
            sagas = [asyncio.create_task(self._saga(i, gate)) for i in slow_first]
            chaos += [asyncio.create_task(self._kill_workers())] if cfg.kill_workers else []
            chaos += [asyncio.create_task(self._restart_server(settings))] if settings else []
            _, pending = await asyncio.wait(sagas, timeout=cfg.deadline)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            elapsed, late_wait = self._elapsed(), max(0.0, self.late_until - time.monotonic())
            if late_wait:
                self._notify(ChaosEvent(elapsed, "late work", f"waiting {late_wait:.1f} s for it to land"))
                await asyncio.sleep(late_wait)
        finally:  # interrupted or not: no saga or chaos left running, the server up, the workers stopped
            for task in sagas + chaos:
                task.cancel()
            await asyncio.gather(*chaos, return_exceptions=True)
            if self.bounce is not None:  # never leave the server down, even when interrupted
                await asyncio.gather(self.bounce, return_exceptions=True)
            await self.supervisor.stop()
            connection.CORE_LOGGER.removeFilter(_expected_retries)
        if settings is not None and self.server_restart is None:
            self.server_restart = {"skipped": "every saga ended before a third of them had (too few sagas)"}
        return await self._check(elapsed, late_wait)

    def _restart_settings(self) -> server.ServerSettings | None:
        settings = self.info.settings() if self.config.restart_server else None
        if self.config.restart_server and settings is None:
            skipped = f"the server at {self.info.address} is not the embedded one (TEMPORAL_ADDRESS is set)"
            skipped += ": not ours to stop"
            self.server_restart = {"skipped": skipped}
            self._notify(ChaosEvent(0.0, "server restart skipped", skipped))
        return settings

    async def _saga(self, i: int, gate: asyncio.Semaphore) -> None:
        plan, amount = self.plans[i], saga_amount(self.config.seed, i)
        async with gate:
            began = time.monotonic()
            try:
                handle = await checkout.start_order(self.client, f"{self.prefix}{i}", amount, plan)
                result = await checkout.order_result(handle)
            except Exception as err:  # the saga is reported lost, with what went wrong
                self.failures[i] = f"{type(err).__name__}: {(str(err).splitlines() or [''])[0]}"
                return
        self.ended[i] = (result, round(time.monotonic() - began, 3))
        ran = set(ACTIONS[: ACTIONS.index(result.failed_step) + 1] if result.failed_step in ACTIONS else ACTIONS)
        ran |= {*result.compensations, *result.failed_compensations}
        if any(plan.faults[step].kind == LATE for step in ran & plan.faults.keys()):
            self.late_until = max(self.late_until, time.monotonic() + LATE_AFTER_S + 1.0)  # when its work has landed
        self.counts[result.status] += 1
        if sum(self.counts.values()) * 3 >= self.config.sagas:
            self.third_done.set()
        self._notify()

    async def _kill_workers(self) -> None:
        rng = random.Random(f"kills:{self.config.seed}")
        while True:
            await asyncio.sleep(self.config.kill_interval_s * rng.uniform(0.5, 1.5))
            await self.supervisor.kill(rng.choice(self.supervisor.services))

    async def _restart_server(self, settings: server.ServerSettings) -> None:
        """Once a third of the sagas have ended: stop the server, start it again on the same SQLite file."""

        def stop_and_start() -> None:
            server.stop(settings)
            time.sleep(SERVER_DOWN_S)
            server.start(settings)

        await self.third_done.wait()
        at = self._elapsed()
        which = "the run's own server" if self.config.own_server is not None else settings.address
        self._notify(ChaosEvent(at, "server stopped", which))
        self.bounce = asyncio.ensure_future(asyncio.to_thread(stop_and_start))  # a thread is never half cancelled
        try:
            await asyncio.shield(self.bounce)
        except Exception as err:  # the sagas will wait for the server until their deadline: say why
            self.server_restart = {"error": str(err)}
            return self._notify(ChaosEvent(self._elapsed(), "server restart failed", str(err)))
        self.server_restart = {"at_s": round(at, 2), "down_s": round(self._elapsed() - at, 2)}
        self._notify(ChaosEvent(self._elapsed(), "server started", f"up again after {self._elapsed() - at:.1f} s"))

    async def _check(self, elapsed: float, late_wait: float) -> ChaosResult:
        """Every order against the three databases and its workflow's status in Temporal."""
        facts, gate = await asyncio.to_thread(read_facts, self.home, self.prefix), asyncio.Semaphore(50)

        async def row(i: int) -> OrderRow:
            async with gate:
                workflow_status = await checkout.workflow_status(self.client, f"{self.prefix}{i}")
            return self._row(i, workflow_status, facts.get(f"{self.prefix}{i}", OrderFacts()))

        orders = await asyncio.gather(*(row(i) for i in range(self.config.sagas)))
        workers = {name: stats.to_dict() for name, stats in self.supervisor.stats.items()}
        workers["total"] = self.supervisor.totals()
        result = ChaosResult(self.config, self.run_id, self.prefix, self.info.address, elapsed, orders, workers)
        result.server_restart, result.events, result.late_wait_s = self.server_restart, self.events, late_wait
        result.late_work = read_journal(self.late_journal)
        return result

    def _row(self, i: int, workflow_status: str | None, facts: OrderFacts) -> OrderRow:
        plan, amount = self.plans[i], saga_amount(self.config.seed, i)
        row = OrderRow(f"{self.prefix}{i}", i, amount, str(plan), [f"{s}={f.kind}" for s, f in plan.faults.items()])
        row.fault_point, row.workflow_status = next(iter(plan.faults), "none"), workflow_status
        row.net, row.charged, row.refunded = facts.net, facts.charged, facts.refunded
        row.order_status, row.shipments = facts.order_status, list(facts.shipments)
        if i in self.ended:
            result, row.latency_s = self.ended[i]
            row.status, row.failed_step, row.error = result.status, result.failed_step, result.error
            row.compensations, row.failed_compensations = result.compensations, result.failed_compensations
            row.problem = check_order(
                result.status,
                amount,
                facts,
                compensations=result.compensations,
                failed_compensations=result.failed_compensations,
                workflow_status=workflow_status,
            )
            row.consistent = row.problem is None
        elif i in self.failures:
            row.problem = f"the runner could not follow it: {self.failures[i]}"
        else:
            late = "was still running" if workflow_status == "RUNNING" else f"ended {workflow_status} only"
            row.problem = (
                "no workflow with this id" if workflow_status is None else f"the workflow {late} at the deadline"
            )
        return row
