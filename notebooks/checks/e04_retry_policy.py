"""Exercise 04's check: the learner's retry policy on the real ``charge`` activity, under three faults.

Each case is one ``ChargeWorkflow`` (``demos/timeouts.py``) on a task queue of the check's
own, over a payment database of its own, with ``CHARGE_RETRY``, a 2 s start-to-close
timeout and ``CHARGE_BUDGET`` as schedule-to-close. The verdict reads each run's history
(how many attempts, how long the step took from scheduled to closed) and the ledger.

Rule 3 says "within 10 s": the check waits longer than that (:data:`WAIT_S`), so a policy
that ends the step at exactly 10 s is judged on what it did, and it allows
:data:`GRACE_S` for the server to write the step's end (a budget of exactly 10 s ends it
a few milliseconds after 10 s).
"""

from __future__ import annotations

import asyncio
from types import ModuleType

from temporalio.client import Client

from demos.timeouts import ChargeCall, ChargeWorkflow, Retry
from saga_lab.connection import workflow_id
from saga_lab.faults import Fault, FaultInjector
from saga_lab.history import RunFacts
from saga_lab.services import Services
from saga_lab.worker import service_activities

from . import support

MODULE = "e04_retry_policy"
#: The third rule: a service that stays down must end the step within this long.
LIMIT_S = 10.0
GRACE_S = 1.0
#: How long the check waits for a run before it says the step was still being retried.
WAIT_S = 16.0
AMOUNT = 4999
#: The three cases: the fault each order gets.
FAULTS = {"survives": "transient:3", "declined": "permanent", "down": "transient:100"}
PASSED = (
    "the charge survives a payment service that is down for 3 attempts, stops after one attempt "
    f"on a declined card, and gives up on a service that stays down within {LIMIT_S:g} s."
)


async def _run(client: Client, queue: str, order_id: str, fault: str, retry: Retry, budget) -> RunFacts:
    call = ChargeCall(
        order_id,
        AMOUNT,
        Fault.parse(fault),
        start_to_close=2.0,
        schedule_to_close=budget.total_seconds() if budget else None,
        retry=retry,
    )
    handle = await client.start_workflow(ChargeWorkflow.run, call, id=workflow_id(client, order_id), task_queue=queue)
    return await support.finish(handle, WAIT_S, f"the charge with charge={fault}", failed_attempts=None)


def _attempts(n: int) -> str:
    return "1 attempt was" if n == 1 else f"{n} attempts were"


def problems(runs: dict[str, RunFacts], stores: Services, orders: dict[str, str]) -> list[str]:
    """What is wrong, one phrase per rule broken (empty: every rule holds)."""
    found = []
    survives, declined, down = (runs[case] for case in FAULTS)
    charge = survives.activities[0] if survives.activities else None
    if survives.status == "RUNNING":
        found.append(f"with charge={FAULTS['survives']} the charge had not succeeded after {WAIT_S:g} s of retrying")
    elif survives.status != "COMPLETED" or stores.payment.net(orders["survives"]) != AMOUNT:
        made = _attempts(charge.attempts if charge else 0)
        timed_out = charge and (charge.retry_state == "TIMEOUT" or "Timeout" in (charge.failure_type or ""))
        budget = (
            " (the next attempt would have started after its schedule-to-close budget ran out)" if timed_out else ""
        )
        found.append(f"with charge={FAULTS['survives']} the charge never succeeded: {made} made{budget}")
    charge = declined.activities[0] if declined.activities else None
    attempts = charge.attempts if charge else 0
    if declined.status == "RUNNING":
        found.append(f"with charge=permanent the declined card was still being retried after {WAIT_S:g} s")
    elif attempts == 0 or support.refused_again(charge):  # not a first attempt that timed out on a busy machine
        found.append(
            f"with charge=permanent the declined card was tried {attempts} times: a decline does not change on a retry"
        )
    step = down.activities[0] if down.activities else None
    if down.status == "RUNNING":
        found.append(
            f"with charge={FAULTS['down']} (a service that stays down) the step was still being retried after "
            f"{WAIT_S:g} s; the rule is {LIMIT_S:g} s"
        )
    elif step and step.closed_at and (took := (step.closed_at - step.scheduled_at).total_seconds()) > LIMIT_S + GRACE_S:
        found.append(
            f"with charge={FAULTS['down']} (a service that stays down) the step ended after {took:.1f} s of "
            f"retrying; the rule is {LIMIT_S:g} s"
        )
    return found


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    module = support.load(MODULE, "CHARGE_RETRY", "CHARGE_BUDGET", module=module)
    try:
        retry, budget = Retry.of(module.CHARGE_RETRY), module.CHARGE_BUDGET
        budget and budget.total_seconds()
    except AttributeError as err:
        return f"CHARGE_RETRY must be a RetryPolicy and CHARGE_BUDGET a timedelta or None: {err}"
    client = await support.quiet_client(client)
    run = support.fresh_id("ex04")
    queue = support.queue_name(client, run)
    orders = {case: f"{run}-{case}" for case in FAULTS}
    with support.private_services() as (_, stores):
        charge = service_activities("payment", stores, FaultInjector())
        async with support.kernel_worker(client, queue, workflows=[ChargeWorkflow], activities=charge):
            outcomes = await asyncio.gather(
                *(_run(client, queue, orders[case], fault, retry, budget) for case, fault in FAULTS.items())
            )
        found = problems(dict(zip(FAULTS, outcomes)), stores, orders)
    return "; ".join(found) + "." if found else None


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run the three cases at once with ``exercises/e04_retry_policy.py`` and print PASS or NOT YET."""
    return await support.judge("e04", PASSED, lambda: problem(client, module), client)
