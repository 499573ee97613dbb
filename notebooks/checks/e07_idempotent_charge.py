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
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from demos.workers import CountingFaults, KernelWorker
from saga_lab.checkout import ended_within
from saga_lab.connection import workflow_id
from saga_lab.failures import root_message
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
    from concurrent.futures import ThreadPoolExecutor

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


async def _charged_or_ended(payments: PaymentService, order_id: str, handle, worker: WorkerProcess) -> None:
    """Until the order's card is charged (its first attempt then waits for a reply that never comes), or it ended."""
    deadline = asyncio.get_running_loop().time() + CHARGED_WITHIN_S
    while not _charges(payments, order_id) and asyncio.get_running_loop().time() < deadline:
        died = worker.died()
        if died is not None:
            raise support.NotYet(f"the worker process running your charge_card ended by itself: {died}")
        if (await handle.describe()).close_time is not None:
            return
        await asyncio.sleep(0.05)


async def _charge(client: Client, module: ModuleType, queue: str, order_id: str):
    handle = await client.start_workflow(
        module.ChargeWorkflow.run,
        module.Charge(order_id, AMOUNT, Fault.parse(FAULT)),
        id=workflow_id(client, order_id),
        task_queue=queue,
    )
    return handle


def _problem(facts, order_id: str) -> str | None:
    """What kept one charge from completing, in one line."""
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_TIMEOUT_S, f"the charge of {order_id}")
    if facts.status != "COMPLETED":
        return f"the charge of {order_id} ended {facts.status}: {facts.failure}"
    return None


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Charge two orders, each with a lost reply, retried here and elsewhere; print PASS or NOT YET."""

    async def body() -> str | None:
        learner = support.load(MODULE, *NAMES, module=module)
        here, there = support.fresh_id("ex07"), support.fresh_id("ex07")
        with support.private_services() as (home, stores), tempfile.TemporaryDirectory(prefix="ex07-") as folder:
            queue = support.queue_name(client, support.fresh_id("ex07-charge"))
            processes = [WorkerProcess(__name__, learner, queue, home, Path(folder), "first")]
            try:
                async with support.kernel_worker(client, queue, workflows=[learner.ChargeWorkflow]):
                    # The first order: its retry runs in the same worker process.
                    handle = await _charge(client, learner, queue, here)
                    problem = _problem(await support.finish(handle, RUN_TIMEOUT_S, f"the charge of {here}"), here)
                    if problem:
                        return problem
                    # The second: its worker process is killed once the card is charged; a new one retries it.
                    handle = await _charge(client, learner, queue, there)
                    await _charged_or_ended(stores.payment, there, handle, processes[0])
                    processes[0].kill()
                    processes.append(
                        WorkerProcess(
                            __name__, learner, queue, home, Path(folder), "second", processes[0].hash_seed + 1
                        )
                    )
                    facts = await support.finish(handle, RUN_TIMEOUT_S, f"the charge of {there}")
                    problem = _problem(facts, there)
                    if problem:
                        return problem
            finally:
                for process in processes:
                    process.kill()
            charged = {order: _charges(stores.payment, order) for order in (here, there)}
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


# ---------------------------------------------------------------- notebook 07, section 3: one charge in this kernel


async def charge(client: Client, order_id: str, fault: str = FAULT) -> str:
    """Charge ``order_id`` once with today's ``exercises/e07_idempotent_charge.py``, on the lab's services; say how."""
    learner = support.load(MODULE, *NAMES)
    faults = CountingFaults()
    payments = learner.CardPayments(open_services().payment, faults)
    queue = support.queue_name(client, support.fresh_id("nb07-charge"))
    async with KernelWorker(client, queue, [learner.ChargeWorkflow], [payments.charge_card], faults) as worker:
        handle = await client.start_workflow(
            learner.ChargeWorkflow.run,
            learner.Charge(order_id, AMOUNT, Fault.parse(fault)),
            id=workflow_id(client, order_id),
            task_queue=queue,
        )
        problem = None
        if not await ended_within(handle, RUN_TIMEOUT_S, "notebook 07: the charge did not finish"):
            problem = f"the charge of {order_id} did not finish within {RUN_TIMEOUT_S:g} s"
        else:
            try:
                await handle.result()
            except WorkflowFailureError as failure:
                problem = f"the charge of {order_id} failed: {root_message(failure)}"
        await worker.settled()  # the attempt whose reply was lost ends, and its late reply is logged, here
    return problem or f"ChargeWorkflow {order_id} completed"
