"""Check for exercise 03: the forward steps of an order workflow (``exercises/e03_forward_steps.py``).

It runs your ``ForwardStepsWorkflow`` with the three services' real activities, each
service on a task queue of its own, over databases of the check's own. It places three
orders at once: a plain one, one whose first charge reply is lost (the payment is made,
the reply never arrives), and one whose card is declined; then it runs the plain order
once more, as a workflow retried or reset would. It reads each run's history (the steps,
their task queues, their idempotency keys, the attempts) and the three services' state.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from saga_lab.checkout import end_state
from saga_lab.config import ACTIONS, order_id_of
from saga_lab.connection import workflow_id
from saga_lab.faults import Fault, FaultInjector
from saga_lab.history import RunFacts
from saga_lab.services import Services
from saga_lab.worker import service_activities

from . import support

MODULE = "e03_forward_steps"
WORKFLOW = "ForwardStepsWorkflow"
SERVICE_OF_STEP = {"charge": "payment", "create_order": "order", "create_shipment": "shipping"}
#: The orders the check places: what each is, and its amount.
ORDERS = {"plain": 4999, "lost-reply": 2500, "declined": 1999}
RUN_S = 15.0
PASSED = (
    "each step runs on its service's task queue with a key of its own that names the order's step; a lost reply "
    "is retried without a second payment, a second run of the order pays nothing more, and a declined card stops "
    "the order."
)


class CheckFaults(FaultInjector):
    """The check's faults, by order: the first charge reply of one is lost, the card of another declined."""

    def __init__(self, lost_reply: str, declined: str) -> None:
        super().__init__()
        self.lost_reply, self.declined = lost_reply, declined

    def run(self, step: str, fault: Fault | None, work: Any, *args: Any) -> Any:
        info = activity.info()
        order = order_id_of(info.workflow_id)
        if step == "charge" and order == self.declined:
            # Declined as a payment worker that does not mark its refusals final would say it: only the
            # step's retry policy can then stop the retries (the saga's activities mark them final too).
            raise ApplicationError("the card was declined (injected by the check)", type="PaymentDeclined")
        result = super().run(step, fault, work, *args)
        if step == "charge" and order == self.lost_reply and info.attempt == 1:
            raise ApplicationError("the payment was made, but its reply was lost on the way back", type="ReplyLost")
        return result


def _state(row: dict) -> str:
    return f"payment {row['payment']}, net {row['net']}, order {row['order']}, shipment {row['shipment']}"


def _steps(facts: RunFacts, what: str, queues: dict[str, str]) -> str | None:
    """The three steps, in order, each on its service's queue, each with a key of its own."""
    if facts.scheduled != list(ACTIONS):
        ran = ", ".join(facts.scheduled) or "no activity"
        return f"the {what} order's run ran {ran}; the happy path is {', '.join(ACTIONS)}, in this order"
    for run in facts.activities:
        expected = queues[SERVICE_OF_STEP[run.name]]
        if run.task_queue != expected:
            return f"{run.name} was sent to the task queue {run.task_queue!r}, not its service's ({expected!r})"
    keys = [run.key for run in facts.activities]
    if len(set(keys)) < len(keys):
        return f"the {what} order's three steps sent the idempotency keys {keys}: a key names one step of one order"
    return None


async def _completed(
    client: Client, facts: RunFacts, what: str, order_id: str, queues: dict[str, str], stores: Services, home: Path
) -> str | None:
    """A plain order (or one whose first charge reply was lost): one charge, all three services agree."""
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_S, f"the {what} order's run")
    if facts.status != "COMPLETED":
        return f"the {what} order's run ended {facts.status}: {facts.failure}"
    found = _steps(facts, what, queues)
    if found:
        return found
    charges = [e for e in stores.payment.ledger(order_id) if e.kind == "charge"]
    if len(charges) != 1:
        charge = facts.of("charge")[0]
        return (
            f"the {what} order was charged {len(charges)} times: its charge ran {charge.attempts} attempts with the "
            f"key {charge.key!r}, and a retry made a new payment instead of getting the first one back"
        )
    row = await end_state(client, order_id, home)
    if (row["payment"], row["net"], row["order"], row["shipment"]) != ("CHARGED", ORDERS[what], "ACTIVE", "CREATED"):
        return f"after the {what} order's run the services show {_state(row)}"
    result = facts.result if isinstance(facts.result, dict) else {"result": facts.result}
    said = ", ".join(f"{k} {result.get(k)!r}" for k in ("status", "payment_id", "shipment_id"))
    if result.get("status") != "COMPLETED" or result.get("payment_id") != charges[0].payment_id:
        return f"the {what} order's run returned {said}: it should say COMPLETED, with the payment's id"
    if result.get("shipment_id") not in [s.shipment_id for s in stores.shipping.shipments(order_id)]:
        return f"the {what} order's run returned {said}: it should carry the shipment's id"
    return None


async def _declined(client: Client, facts: RunFacts, order_id: str, home: Path) -> str | None:
    """A declined card: one attempt (a business "no" is not retried), the run fails, nothing else is done."""
    charge = facts.of("charge")[:1]
    again = charge and support.refused_again(charge[0])
    if facts.status == "RUNNING" and "PaymentDeclined" in facts.waiting_for or again:
        tried = f"{charge[0].attempts} times" if again else "again and again"
        return (
            f"the declined card (PaymentDeclined, a business error) was charged {tried}: "
            "a retry cannot change a business answer"
        )
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_S, "the declined order's run")
    row = await end_state(client, order_id, home)
    if row["order"] is not None or row["shipment"] is not None:
        return f"after the card was declined, the run went on: the services show {_state(row)}"
    if facts.status != "FAILED":
        return (
            f"the declined order's run ended {facts.status}: a step that fails for good fails the run "
            "(there is no compensation yet)"
        )
    return None


def _same_keys(first: RunFacts, again: RunFacts, charges: int) -> str | None:
    """A second run of the same order sends the same keys, so the services answer it from the first."""
    changed = [
        f"{a.name}: {a.key!r}, then {b.key!r}" for a, b in zip(first.activities, again.activities) if a.key != b.key
    ]
    if changed or charges != 1:
        return (
            "a second run of the same order (as after a reset, or the order placed again) sent other idempotency "
            f"keys ({changed[0] if changed else 'the same keys'}), and the customer was charged {charges} times"
        )
    return None


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    """What is wrong with the module's forward steps, or None when they work."""
    module = support.load(MODULE, WORKFLOW, "StepsInput", module=module)
    workflow_class, steps_input = getattr(module, WORKFLOW), module.StepsInput
    client = await support.quiet_client(client)
    run = support.fresh_id("ex03")
    orders = {what: f"{run}-{what}" for what in ORDERS}
    queues = {service: support.queue_name(client, f"{run}-{service}") for service in ("payment", "order", "shipping")}
    faults = CheckFaults(lost_reply=orders["lost-reply"], declined=orders["declined"])

    async def place(what: str) -> RunFacts:
        handle = await client.start_workflow(
            workflow_class.run,
            steps_input(orders[what], ORDERS[what], dict(queues)),
            id=workflow_id(client, orders[what]),
            task_queue=queues["workflow"],
        )
        return await support.finish(handle, RUN_S, f"the {what} order's run", failed_attempts=2)

    queues["workflow"] = support.queue_name(client, f"{run}-workflow")
    with support.private_services() as (home, stores):
        workers = {queues["workflow"]: {"workflows": [workflow_class]}}
        for service in ("payment", "order", "shipping"):
            workers[queues[service]] = {"activities": service_activities(service, stores, faults)}
        async with support.kernel_workers(client, workers):
            try:
                runs = dict(zip(ORDERS, await asyncio.gather(*(place(what) for what in ORDERS))))
            except TypeError as err:  # StepsInput changed so that the check cannot build it
                return f"the check could not start your workflow: {type(err).__name__}: {err}"
            for what in ("plain", "lost-reply"):
                found = await _completed(client, runs[what], what, orders[what], queues, stores, home)
                if found:
                    return found
            keys = {what: runs[what].activities[0].key for what in ("plain", "lost-reply")}
            if keys["plain"] == keys["lost-reply"]:
                return f"two orders sent the same idempotency key for their charge ({keys['plain']!r})"
            found = await _declined(client, runs["declined"], orders["declined"], home)
            if found:
                return found
            again = await place("plain")
            charges = sum(e.kind == "charge" for e in stores.payment.ledger(orders["plain"]))
            return _same_keys(runs["plain"], again, charges)


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run your forward steps for real and print PASS, or NOT YET and what is wrong."""
    return await support.judge("e03", PASSED, lambda: problem(client, module), client)
