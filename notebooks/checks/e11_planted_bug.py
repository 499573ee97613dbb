"""Exercise 11's check: does the invariant checker catch the bug you planted in ``charge``?

It runs 24 order sagas (``OrderSagaWorkflow``) on workers of its own, in this kernel, on
fresh task queues and over service databases of its own: the order and shipping
services as they are, the payment service with YOUR ``charge``
(``exercises/e11_planted_bug.py``) and the real ``refund``. A quarter of the orders lose
the reply of their first charge attempt, a quarter lose it and have their shipment
refused too (they must be undone), a quarter have a charge that fails twice before it
charges, and a quarter run with no fault. Then it reads every order from the three
databases and judges it with ``saga_lab.chaos.check_order``, the chaos runner's own
invariant checker, as ``run_chaos`` does.

PASS when the checker caught a double charge; NOT YET while every order keeps the promise.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from demos.workers import CountingFaults
from saga_lab import checkout
from saga_lab.activities import PaymentActivities
from saga_lab.chaos import OrderFacts, check_order
from saga_lab.chaos.checker import read_facts
from saga_lab.config import task_queue
from saga_lab.connection import learner_prefix, workflow_id
from saga_lab.faults import FaultPlan
from saga_lab.models import OrderInput, OrderResult
from saga_lab.notebook import check as verdict
from saga_lab.services import open_services
from saga_lab.worker import activity_executor, service_activities
from saga_lab.workflows import OrderSagaWorkflow

from . import fresh_id, practice
from .e01_hello import quiet_client, quiet_sdk_logs

MODULE = "e11_planted_bug"
SAGAS = 24
LOST_REPLY = "charge=timeout:1"
#: The fault plan of saga ``i`` is ``PLANS[i % 4]``.
PLANS = ([LOST_REPLY], [], [LOST_REPLY, "create_shipment=permanent"], ["charge=transient:2"])
#: The sagas take about 3 s (one lost reply, 2 s each); longer means something else is wrong.
RUN_TIMEOUT_S = 25.0


def _file() -> str:
    package = "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"
    return f"{package}/{MODULE}.py"


@dataclass
class Judged:
    """One order of the check's run, and what the invariant checker said about it."""

    order_id: str
    lost_reply: bool
    result: OrderResult
    facts: OrderFacts
    problem: str | None


def _amount(i: int) -> int:
    return 2500 + 100 * i


async def _run(client: Client, module: ModuleType) -> list[Judged] | str:
    """The sagas run and judged, or what kept them from running, in one line."""
    home = Path(tempfile.mkdtemp(prefix="ex11-"))
    stores, faults = open_services(home), CountingFaults()
    run = fresh_id("ex11")
    scope = f"{learner_prefix(client)}{run}/"
    queues = {service: task_queue(service, scope) for service in ("payment", "order", "shipping", "workflow")}
    try:
        planted = module.PlantedPayments(stores.payment, faults).charge
        workers = [
            Worker(
                client,
                task_queue=queues["payment"],
                activities=[planted, PaymentActivities(stores.payment, faults).refund],
                activity_executor=activity_executor(),
            ),
            Worker(client, task_queue=queues["workflow"], workflows=[OrderSagaWorkflow]),
        ]
        workers += [
            Worker(
                client,
                task_queue=queues[name],
                activities=service_activities(name, stores, faults),
                activity_executor=activity_executor(),
            )
            for name in ("order", "shipping")
        ]
    except Exception as err:  # e.g. the class was renamed, or charge is not an activity any more
        shutil.rmtree(home, ignore_errors=True)
        return f"the payment worker refuses your charge: {type(err).__name__}: {err}"
    orders = [f"{run}-{i}" for i in range(SAGAS)]
    handles: list[WorkflowHandle] = []
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        for i, order_id in enumerate(orders):
            order = OrderInput(order_id, _amount(i), FaultPlan.parse(PLANS[i % len(PLANS)]))
            handles.append(
                await client.start_workflow(
                    OrderSagaWorkflow.run, order, id=workflow_id(client, order_id), task_queue=queues["workflow"]
                )
            )
        waits = [asyncio.ensure_future(checkout.order_result(handle)) for handle in handles]
        _, pending = await asyncio.wait(waits, timeout=RUN_TIMEOUT_S)
        if pending:
            for wait in pending:
                wait.cancel()
            return (
                f"{len(pending)} of {SAGAS} sagas did not end within {RUN_TIMEOUT_S:g} s: is your charge "
                "waiting for something?"
            )
        results = [wait.result() for wait in waits]
        deadline = asyncio.get_running_loop().time() + 5.0  # the attempts whose reply was lost end too
        while faults.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        facts = await asyncio.to_thread(read_facts, home, f"{run}-")
        judged = []
        for i, (order_id, result) in enumerate(zip(orders, results, strict=True)):
            found = facts.get(order_id, OrderFacts())
            problem = check_order(
                result.status,
                _amount(i),
                found,
                compensations=result.compensations,
                failed_compensations=result.failed_compensations,
                workflow_status=await checkout.workflow_status(client, order_id),
            )
            judged.append(Judged(order_id, LOST_REPLY in PLANS[i % len(PLANS)], result, found, problem))
        return judged
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):  # the check's verdict stands
                await checkout.terminate_if_running(handle, "exercise 11's check is done with this run")
        await asyncio.gather(*(worker.shutdown() for worker in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
        shutil.rmtree(home, ignore_errors=True)


def _verdict(judged: list[Judged]) -> tuple[bool, str, str]:
    caught = [row for row in judged if row.problem]
    twice = [row for row in caught if row.facts.charges > 1]
    lost = [row for row in judged if row.lost_reply]
    uncharged = [row for row in judged if row.facts.charges == 0]
    if twice:
        example = twice[0]
        caught_lost = sum(1 for row in caught if row.lost_reply)
        passed = (
            f"the invariant checker caught your planted bug in {len(caught)} of {len(judged)} orders "
            f"({caught_lost} of the {len(lost)} whose first charge reply was lost, "
            f"{len(caught) - caught_lost} of the {len(judged) - len(lost)} others), e.g. "
            f"{example.order_id} ended {example.result.status}: {example.problem}."
        )
        return True, passed, ""
    if caught:
        row = caught[0]
        return (
            False,
            "",
            (
                f"the checker found {len(caught)} inconsistent order(s), but no order was charged twice "
                f"({row.order_id} ended {row.result.status}: {row.problem}): the bug to plant is a charge that a "
                "retry repeats."
            ),
        )
    if uncharged:
        row = uncharged[0]
        why = row.result.error if row.result and row.result.failed_step == "charge" else "no charge reached the ledger"
        return (
            False,
            "",
            (
                f"{len(uncharged)} of {len(judged)} orders were never charged, so the checker had nothing to catch: "
                f"{row.order_id} ended {row.result.status}: {why}."
            ),
        )
    return (
        False,
        "",
        (
            f"every order was charged once, the {len(lost)} whose first charge reply was lost included: the activity "
            "you wrote is still idempotent, so there is nothing for the checker to catch yet."
        ),
    )


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run the sagas with your ``charge``, judge every order, say PASS or NOT YET (``module``: instead of the file)."""
    try:
        module = module or practice(MODULE)
    except Exception as err:  # the learner's file does not import: say so in one line
        return verdict(False, "", f"{_file()} does not import: {type(err).__name__}: {err}")
    quiet = await quiet_client(client)
    with quiet_sdk_logs():
        judged = await _run(quiet, module)
    if isinstance(judged, str):
        return verdict(False, "", judged)
    ok, passed, failed = _verdict(judged)
    return verdict(ok, passed, failed)
