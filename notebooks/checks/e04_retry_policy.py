"""Exercise 04's check: the learner's retry policy on the real ``charge`` activity, under three faults.

Each case is one ``ChargeWorkflow`` (``demos/timeouts.py``) on a task queue of the
check's own, with ``CHARGE_RETRY``, a 2 s start-to-close timeout and ``CHARGE_BUDGET``
as schedule-to-close. The verdict reads how the run ended, how many attempts the
history records, and what the payment service's ledger holds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from demos.timeouts import ChargeCall, ChargeWorkflow, Retry, demo_worker
from saga_lab import history
from saga_lab.checkout import ended_within
from saga_lab.connection import task_queue, workflow_id
from saga_lab.faults import Fault
from saga_lab.services import open_services

from . import check as verdict
from . import fresh_id, practice

#: The third rule: a service that stays down must end the step within this budget.
LIMIT_S = 10.0
AMOUNT = 4999


@dataclass
class Outcome:
    fault: str
    ended: str  # COMPLETED, FAILED, or RUNNING (still retrying at the limit, then terminated)
    attempts: int
    net: int
    seconds: float


async def _run(client: Client, queue: str, base: str, slug: str, fault: str, retry: Retry, budget) -> Outcome:
    order_id = f"{base}-{slug}"
    call = ChargeCall(
        order_id,
        AMOUNT,
        Fault.parse(fault.removeprefix("charge=")),
        start_to_close=2.0,
        schedule_to_close=budget.total_seconds() if budget else None,
        retry=retry,
    )
    began = time.monotonic()
    handle: WorkflowHandle = await client.start_workflow(
        ChargeWorkflow.run, call, id=workflow_id(client, order_id), task_queue=queue
    )
    ended = "RUNNING"
    if await ended_within(handle, LIMIT_S, "exercise 04's check: still retrying at its limit"):
        try:
            await handle.result()
            ended = "COMPLETED"
        except WorkflowFailureError:
            ended = "FAILED"
    seconds = time.monotonic() - began
    runs = history.activities(await handle.fetch_history())
    attempts = runs[0].attempts if runs else 0
    return Outcome(fault, ended, attempts, open_services().payment.net(order_id), seconds)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def problems(survives: Outcome, declined: Outcome, down: Outcome) -> list[str]:
    """What is wrong, one phrase per rule broken (empty: every rule holds)."""
    found = []
    if survives.ended == "RUNNING":
        found.append(f"with {survives.fault} the charge had not succeeded after {LIMIT_S:g} s of retrying")
    elif survives.ended != "COMPLETED" or survives.net != AMOUNT:
        found.append(
            f"with {survives.fault} the charge never succeeded: "
            f"{survives.attempts} attempt{'s were' if survives.attempts != 1 else ' was'} made and the step gave up"
        )
    if declined.ended == "RUNNING":
        found.append(f"with {declined.fault} the declined card was still being retried after {LIMIT_S:g} s")
    elif declined.attempts != 1:
        found.append(
            f"with {declined.fault} the declined card was tried {_times(declined.attempts)}: "
            "a decline does not change on a retry"
        )
    if down.ended == "RUNNING":
        found.append(
            f"with {down.fault} (a service that stays down) the step was still being retried after {LIMIT_S:g} s"
        )
    return found


async def check(client: Client) -> bool:
    """Run the three cases at once with ``exercises/e04_retry_policy.py`` and print PASS or NOT YET."""
    module = practice("e04_retry_policy")
    retry, budget = Retry.of(module.CHARGE_RETRY), module.CHARGE_BUDGET
    base = fresh_id("ex04")
    worker = demo_worker(client, task_queue(client, base))
    async with worker:
        survives, declined, down = await asyncio.gather(
            _run(client, worker.task_queue, base, "transient", "charge=transient:3", retry, budget),
            _run(client, worker.task_queue, base, "declined", "charge=permanent", retry, budget),
            _run(client, worker.task_queue, base, "down", "charge=transient:100", retry, budget),
        )
    found = problems(survives, declined, down)
    return verdict(
        not found,
        "the charge survives a payment service that is down for 3 attempts, stops after one attempt "
        f"on a declined card, and gives up on a service that stays down within {LIMIT_S:g} s.",
        "; ".join(found) + ".",
    )
