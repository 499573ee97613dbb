"""Exercise 11's check: does the invariant checker catch the bug you planted in ``charge``?

It runs 24 order sagas (``OrderSagaWorkflow``) on task queues and service databases of its
own: the workflow, order and shipping workers in this kernel, and the payment worker, with
YOUR ``charge`` (``exercises/e11_planted_bug.py``) and the real ``refund``, in a process of
its own. A quarter of the orders lose the reply of their first charge attempt, a quarter lose
it and have their shipment refused too (they must be undone), a quarter have a charge that
fails twice before it charges, and a quarter run with no fault. Once the lost replies' cards
are charged, the payment worker's process is killed and a new one takes over (in production
the retry often runs elsewhere). Then it reads every order from the three databases and
judges it with ``saga_lab.chaos.check_order``, the chaos runner's own invariant checker, and
reads each saga's history: how many attempts its charge took. The payment worker's fault
injector notes each charge fault it is handed, so the check knows whether the lost replies
were really lost (a busy machine can time an attempt out without any fault).

PASS when the checker caught an order charged twice by a retry, and no order charged twice
without one (a bug on every call is not the bug a chaos test is for).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from saga_lab import checkout
from saga_lab.activities import PaymentActivities
from saga_lab.chaos import OrderFacts, check_order
from saga_lab.chaos.checker import read_facts
from saga_lab.connection import task_queue, workflow_id
from saga_lab.faults import FaultInjector, FaultPlan
from saga_lab.models import OrderInput, OrderResult
from saga_lab.services import open_services
from saga_lab.worker import service_activities
from saga_lab.workflows import OrderSagaWorkflow

from . import support
from .worker_process import WorkerProcess

MODULE = "e11_planted_bug"
SAGAS = 24
LOST_REPLY = "charge=timeout:1"
#: The fault plan of saga ``i`` is ``PLANS[i % 4]``.
PLANS = ([LOST_REPLY], [], [LOST_REPLY, "create_shipment=permanent"], ["charge=transient:2"])
#: The sagas take about 4 s (one lost reply, 2 s each, and a new worker process); longer means something is wrong.
RUN_TIMEOUT_S = 25.0
#: How long the lost replies' first attempts may take to charge before the first payment worker is killed anyway.
CHARGED_WITHIN_S = 10.0
#: The file, in the check's service home, where the payment workers' fault injectors note each charge fault.
FAULTS_NOTED = "charge-faults.log"


class NotingFaults(FaultInjector):
    """The payment workers' fault injector: as any, and it notes every fault ``charge`` hands it."""

    def __init__(self, notes: Path) -> None:
        super().__init__()
        self.notes = notes

    def run(self, step, fault, work, *args):
        if step == "charge" and fault is not None:
            with self._lock, open(self.notes, "a", encoding="utf-8") as notes:
                notes.write(f"{fault}\n")
        return super().run(step, fault, work, *args)


@dataclass
class Judged:
    """One order of the check's run, and what the invariant checker and its history said about it."""

    order_id: str
    lost_reply: bool
    result: OrderResult
    facts: OrderFacts
    #: How many attempts its ``charge`` activity took (0: never scheduled), and how the last one ended.
    charge_attempts: int
    charge_outcome: str
    problem: str | None


def _amount(i: int) -> int:
    return 2500 + 100 * i


def process_worker(module: ModuleType, client: Client, queue: str, home: Path) -> Worker:
    """A :class:`WorkerProcess`'s worker: your ``charge`` and the real ``refund``, on the check's payment service."""
    payments, faults = open_services(home).payment, NotingFaults(home / FAULTS_NOTED)
    return Worker(
        client,
        task_queue=queue,
        activities=[module.PlantedPayments(payments, faults).charge, PaymentActivities(payments, faults).refund],
        activity_executor=ThreadPoolExecutor(8),
        graceful_shutdown_timeout=timedelta(0),
    )


async def _lost_replies_charged(stores, lost: list[str], handles: dict, first: WorkerProcess) -> None:
    """Until each lost-reply order's card is charged (its first attempt then waits in vain), or its saga ended."""
    deadline = asyncio.get_running_loop().time() + CHARGED_WITHIN_S
    waiting = list(lost)
    while waiting and asyncio.get_running_loop().time() < deadline:
        died = first.died()
        if died is not None:
            raise support.NotYet(f"the payment worker process running your charge ended by itself: {died}")
        charged = {row.order_id for row in stores.payment.ledger() if row.kind == "charge"}
        waiting = [order for order in waiting if order not in charged]
        for order in list(waiting):
            if (await handles[order].describe()).close_time is not None:
                waiting.remove(order)
        await asyncio.sleep(0.1)


async def _judge(client: Client, handle: WorkflowHandle, i: int, order_id: str, facts, found: OrderFacts) -> Judged:
    result = await checkout.order_result(handle)
    problem = check_order(
        result.status,
        _amount(i),
        found,
        compensations=result.compensations,
        failed_compensations=result.failed_compensations,
        workflow_status=facts.status,
    )
    charge = facts.of("charge")[-1] if facts.of("charge") else None
    attempts, outcome = (charge.attempts, charge.outcome) if charge else (0, "never scheduled")
    return Judged(order_id, LOST_REPLY in PLANS[i % len(PLANS)], result, found, attempts, outcome, problem)


async def _run(client: Client, learner: ModuleType) -> tuple[list[Judged], int]:
    """The sagas run with your charge, and judged; and how many charge faults reached the fault injector."""
    run = support.fresh_id("ex11")
    queues = {service: task_queue(client, service, run=run) for service in ("payment", "order", "shipping", "workflow")}
    orders = [f"{run}-{i}" for i in range(SAGAS)]
    handles: dict[str, WorkflowHandle] = {}
    with support.private_services() as (home, stores), tempfile.TemporaryDirectory(prefix="ex11-") as folder:
        processes = [WorkerProcess(__name__, learner, queues["payment"], home, Path(folder), "first")]
        try:
            async with contextlib.AsyncExitStack() as workers:
                await workers.enter_async_context(
                    support.kernel_worker(client, queues["workflow"], workflows=[OrderSagaWorkflow])
                )
                for name in ("order", "shipping"):
                    activities = service_activities(name, stores, FaultInjector())
                    worker = support.kernel_worker(client, queues[name], activities=activities)
                    await workers.enter_async_context(worker)
                for i, order_id in enumerate(orders):
                    order = OrderInput(order_id, _amount(i), FaultPlan.parse(PLANS[i % len(PLANS)]))
                    handles[order_id] = await client.start_workflow(
                        OrderSagaWorkflow.run, order, id=workflow_id(client, order_id), task_queue=queues["workflow"]
                    )
                lost = [order for i, order in enumerate(orders) if LOST_REPLY in PLANS[i % len(PLANS)]]
                await _lost_replies_charged(stores, lost, handles, processes[0])
                processes[0].kill()
                processes.append(WorkerProcess(__name__, learner, queues["payment"], home, Path(folder), "second"))
                ended = await asyncio.gather(
                    *(support.finish(handles[order], RUN_TIMEOUT_S, f"the saga of {order}") for order in orders)
                )
                still = [(order, facts) for order, facts in zip(orders, ended) if facts.status == "RUNNING"]
                if still:
                    order, facts = still[0]
                    raise support.NotYet(
                        f"{len(still)} of {SAGAS} sagas had not ended after {RUN_TIMEOUT_S:g} s: {order}'s was "
                        f"waiting for {facts.waiting_for}"
                    )
                found = await asyncio.to_thread(read_facts, home, f"{run}-")
                noted = home / FAULTS_NOTED
                faults_noted = len(noted.read_text(encoding="utf-8").splitlines()) if noted.exists() else 0
                return [
                    await _judge(client, handles[order], i, order, facts, found.get(order, OrderFacts()))
                    for i, (order, facts) in enumerate(zip(orders, ended))
                ], faults_noted
        finally:
            for process in processes:
                process.kill()
            for handle in handles.values():
                with contextlib.suppress(Exception):  # the check's verdict stands
                    await checkout.terminate_if_running(handle, "exercise 11's check is done with this run")


def problem_of(judged: list[Judged], faults_noted: int) -> str | None:
    """Why the run does not show the planted bug caught (None: it does); ``faults_noted``: charge faults applied."""
    doubled = [row for row in judged if row.facts.charges > 1]
    lost = [row for row in judged if row.lost_reply]
    without_retry = [row for row in doubled if row.charge_attempts <= 1]
    if without_retry:
        row = without_retry[0]
        return (
            f"{len(without_retry)} order(s) were charged twice or more in a single attempt of `charge`, with no retry "
            f"at all (e.g. {row.order_id}, charged {row.facts.charges} times): your bug charges on every call. Plant "
            "one that only a retry sets off, the kind a chaos test is there to find: the lost replies retry for you."
        )
    if lost and faults_noted == 0:
        return (
            f"no reply was ever lost: your `charge` never handed its fault to the fault injector, so the {len(lost)} "
            f"orders with `{LOST_REPLY}` lost nothing (the given code applies the fault where it calls the service)."
        )
    if doubled:
        return None
    caught = [row for row in judged if row.problem]
    if caught:
        row = caught[0]
        return (
            f"the checker found {len(caught)} inconsistent order(s), but no order was charged twice "
            f"({row.order_id} ended {row.result.status}: {row.problem}): the bug to plant is a charge that a "
            "retry repeats."
        )
    uncharged = [row for row in judged if row.facts.charges == 0]
    if uncharged:
        row = uncharged[0]
        why = row.result.error if row.result.failed_step == "charge" else "no charge reached the ledger"
        return (
            f"{len(uncharged)} of {len(judged)} orders were never charged, so the checker had nothing to catch: "
            f"{row.order_id} ended {row.result.status}: {why}."
        )
    return (
        f"every order was charged once, the {len(lost)} whose first charge reply was lost and was retried included "
        "(some by a new worker process): the activity you wrote is still idempotent, so there is nothing for the "
        "checker to catch yet."
    )


def _passed(judged: list[Judged]) -> str:
    caught = [row for row in judged if row.problem]
    twice = next(row for row in caught if row.facts.charges > 1)
    return (
        f"the invariant checker caught your planted bug in {len(caught)} of {len(judged)} orders, each one charged "
        f"again by a retry (a retry after an error raised before the work, `transient`, charged nothing twice), "
        f"e.g. {twice.order_id} ended {twice.result.status}: {twice.problem}."
    )


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run the sagas with your ``charge``, judge every order, say PASS or NOT YET (``module``: instead of the file)."""
    judged: list[Judged] = []

    async def body() -> str | None:
        learner = support.load(MODULE, "PlantedPayments", module=module)
        rows, faults_noted = await _run(await support.quiet_client(client), learner)
        judged.extend(rows)
        return problem_of(judged, faults_noted)

    return await support.judge("e11", lambda: _passed(judged), body, client)
