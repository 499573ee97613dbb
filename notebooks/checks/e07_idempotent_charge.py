"""Exercise 07's check: does a lost reply and its retry still charge an order once?

It runs your ``ChargeWorkflow`` and ``CardPayments.charge_card`` (``exercises/e07_idempotent_charge.py``)
for two orders on a worker of its own, in this kernel, each with the fault ``timeout:1``
(the first attempt charges the card, then its reply is lost), and counts each order's
charges in the payment service's ledger. ``charge`` runs one order the same way: notebook
07 uses it to show the ghost charge before you fix it.
"""

from __future__ import annotations

import asyncio
import uuid
from types import ModuleType

from temporalio.client import Client, WorkflowFailureError

from demos.workers import CountingFaults, KernelWorker
from saga_lab.checkout import ended_within
from saga_lab.connection import task_queue, workflow_id
from saga_lab.failures import root_message
from saga_lab.faults import Fault
from saga_lab.services import open_services

from . import check as verdict
from . import fresh_id, practice
from .e01_hello import quiet_sdk_logs

MODULE = "e07_idempotent_charge"
AMOUNT = 4999
FAULT = "timeout:1"
#: One run takes about 3 s (one lost reply); longer means something else is wrong.
RUN_TIMEOUT_S = 20.0

#: What the SDK logs while the check runs (a failed attempt, a late reply): the check says it in one line.
_NOISY = ("temporalio.activity", "temporalio.core", "temporalio.worker")


def _worker(client: Client, module: ModuleType) -> KernelWorker:
    faults = CountingFaults()
    payments = module.CardPayments(open_services().payment, faults)
    queue = task_queue(client, f"e07-charge-{uuid.uuid4().hex[:6]}")
    return KernelWorker(client, queue, [module.ChargeWorkflow], [payments.charge_card], faults)


async def _run(client: Client, worker: KernelWorker, module: ModuleType, order_id: str, fault: str) -> str | None:
    """Charge one order; None when the workflow completed, else what went wrong, in one line."""
    handle = await client.start_workflow(
        module.ChargeWorkflow.run,
        module.Charge(order_id, AMOUNT, Fault.parse(fault)),
        id=workflow_id(client, order_id),
        task_queue=worker.task_queue,
    )
    if not await ended_within(handle, RUN_TIMEOUT_S, "exercise 07's check: the charge did not finish"):
        return f"the charge of {order_id} did not finish within {RUN_TIMEOUT_S:g} s"
    try:
        await handle.result()
    except WorkflowFailureError as failure:
        return f"the charge of {order_id} failed: {root_message(failure)}"
    return None


async def charge(client: Client, order_id: str, fault: str = FAULT) -> str:
    """Charge ``order_id`` once with today's ``exercises/e07_idempotent_charge.py``; say how it ended."""
    module = practice(MODULE)
    async with _worker(client, module) as worker:
        problem = await _run(client, worker, module, order_id, fault)
        await worker.settled()  # the attempt whose reply was lost ends, and its late reply is logged, here
    return problem or f"ChargeWorkflow {order_id} completed"


def _charges(order_id: str) -> int:
    return sum(1 for row in open_services().payment.ledger(order_id) if row.kind == "charge")


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Charge two orders, each with a lost reply, and print PASS or NOT YET (``module``: instead of the file)."""
    try:
        module = module or practice(MODULE)
    except Exception as err:  # the learner's file does not import: say so in one line
        return verdict(False, "", f"exercises/{MODULE}.py does not import: {type(err).__name__}: {err}")
    orders = [fresh_id("ex07"), fresh_id("ex07")]
    with quiet_sdk_logs(*_NOISY):
        async with _worker(client, module) as worker:
            problems = await asyncio.gather(*(_run(client, worker, module, order, FAULT) for order in orders))
            await worker.settled()
    failed = [problem for problem in problems if problem]
    if failed:
        return verdict(False, "", "; ".join(failed))
    counts = {order: _charges(order) for order in orders}
    doubled = [f"{order} was charged {n} times" for order, n in counts.items() if n != 1]
    return verdict(
        not doubled,
        "the first attempt's reply was lost and Temporal retried, yet each order was charged once, "
        "and the two orders were charged separately: the charge is idempotent.",
        f"the first attempt's reply was lost and Temporal retried: {', '.join(doubled)} "
        "(the retry reached the payment service as a new request).",
    )
