"""Exercise 07's check: does a lost reply and its retry charge an order once, wherever the retry runs?

Your ``CardPayments.charge_card`` (``exercises/e07_idempotent_charge.py``) runs in a worker
process of its own, over a payment service of the check's own; your ``ChargeWorkflow`` runs
in this kernel. Two orders, each with the fault ``timeout:1`` (the first attempt charges the
card, then its reply is lost, and Temporal retries):

- the first order's retry runs in the same worker process;
- for the second, the process is killed once the card is charged, and the retry runs in a
  new one (another machine, as far as your code can tell: nothing kept in memory, another
  seed for Python's ``hash()``).

Then it counts each order's charges in the ledger. ``charge`` runs one order in this kernel:
notebook 07 uses it to show the ghost charge before you fix it.
"""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from temporalio.client import Client
from temporalio.worker import Worker

from demos.workers import CountingFaults, KernelWorker
from saga_lab.connection import workflow_id
from saga_lab.faults import Fault, FaultInjector
from saga_lab.services import PaymentService, open_services

from . import support
from .worker_process import WorkerProcess

MODULE = "e07_idempotent_charge"
NAMES = ("Charge", "CardPayments", "ChargeWorkflow")
AMOUNT = 4999
FAULT = "timeout:1"
#: One charge takes about 3 s (one lost reply: a 2 s timeout, then the retry); longer means something else is wrong.
RUN_TIMEOUT_S = 20.0
#: How long the first attempt of the second order may take to charge the card before the process is killed anyway.
CHARGED_WITHIN_S = 10.0
PASSED = (
    "the first attempt's reply was lost each time; one order was retried in the same worker process, the other "
    "in a new one, and each order was charged once: the charge is idempotent, wherever its retry runs."
)


def process_worker(module: ModuleType, client: Client, task_queue: str, home: Path) -> Worker:
    """The worker of a :class:`WorkerProcess`: your ``charge_card`` over the check's payment service."""
    payments = module.CardPayments(PaymentService.open(home), FaultInjector())
    return Worker(
        client,
        task_queue=task_queue,
        activities=[payments.charge_card],
        activity_executor=ThreadPoolExecutor(4),
        graceful_shutdown_timeout=timedelta(0),
    )


def _charges(payments: PaymentService, order_id: str) -> int:
    return sum(1 for row in payments.ledger(order_id) if row.kind == "charge")


async def _charge(client: Client, learner: ModuleType, queue: str, order_id: str, fault: str, meanwhile=None):
    """Charge one order with your workflow (``meanwhile(handle)`` runs while it does); what went wrong, or None."""
    handle = await client.start_workflow(
        learner.ChargeWorkflow.run,
        learner.Charge(order_id, AMOUNT, Fault.parse(fault)),
        id=workflow_id(client, order_id),
        task_queue=queue,
    )
    if meanwhile is not None:
        await meanwhile(handle)
    facts = await support.finish(handle, RUN_TIMEOUT_S, f"the charge of {order_id}")
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_TIMEOUT_S, f"the charge of {order_id}")
    return None if facts.status == "COMPLETED" else f"the charge of {order_id} ended {facts.status}: {facts.failure}"


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Charge two orders, each with a lost reply, retried here and elsewhere; print PASS or NOT YET."""

    async def body() -> str | None:
        learner = support.load(MODULE, *NAMES, module=module)
        here, there = support.fresh_id("ex07"), support.fresh_id("ex07")
        with support.private_services() as (home, stores), tempfile.TemporaryDirectory(prefix="ex07-") as folder:
            queue = support.queue_name(client, support.fresh_id("ex07-charge"))
            processes = [WorkerProcess(__name__, learner, queue, home, Path(folder), "first")]

            async def elsewhere(handle) -> None:
                """Once the card is charged (the attempt then waits in vain), a new worker process takes over."""
                deadline = asyncio.get_running_loop().time() + CHARGED_WITHIN_S
                while not _charges(stores.payment, there) and asyncio.get_running_loop().time() < deadline:
                    if processes[0].died() is not None:
                        raise support.NotYet(
                            f"the worker process running your charge_card ended: {processes[0].died()}"
                        )
                    if (await handle.describe()).close_time is not None:
                        break
                    await asyncio.sleep(0.05)
                processes[0].kill()
                seed = processes[0].hash_seed + 1
                processes.append(WorkerProcess(__name__, learner, queue, home, Path(folder), "second", seed))

            try:
                async with support.kernel_worker(client, queue, workflows=[learner.ChargeWorkflow]):
                    problem = await _charge(client, learner, queue, here, FAULT)  # retried by the same process
                    problem = problem or await _charge(client, learner, queue, there, FAULT, elsewhere)
            finally:
                for process in processes:
                    process.kill()
            charged = {order: _charges(stores.payment, order) for order in (here, there)}
        if problem:
            return problem
        if charged[here] != 1:
            return (
                f"the first attempt's reply was lost and Temporal retried, in the same worker process: {here} was "
                f"charged {charged[here]} times (each attempt reached the payment service as a new request)."
            )
        if charged[there] != 1:
            return (
                f"a retry in the same worker process charged {here} once, but {there}'s retry ran in another worker "
                f"process, as a retry may in production (notebook 08), and {there} was charged {charged[there]} "
                "times: the key stays the same only inside one process (kept in memory, or made with Python's "
                "hash(), which every process seeds differently)."
            )
        return None

    return await support.judge("e07", PASSED, body, client)


async def charge(client: Client, order_id: str, fault: str = FAULT) -> str:
    """Notebook 07, section 3: charge ``order_id`` once with your file today, in this kernel, on the lab's services."""
    learner = support.load(MODULE, *NAMES)
    faults = CountingFaults()
    payments = learner.CardPayments(open_services().payment, faults)
    queue = support.queue_name(client, support.fresh_id("nb07-charge"))
    async with KernelWorker(client, queue, [learner.ChargeWorkflow], [payments.charge_card], faults) as worker:
        problem = await _charge(client, learner, queue, order_id, fault)
        await worker.settled()  # the attempt whose reply was lost ends, and its late reply is logged, here
    return problem or f"ChargeWorkflow {order_id} completed"
