"""Check for exercise 03: the forward steps of an order workflow (``exercises/e03_forward_steps.py``).

It runs your ``ForwardStepsWorkflow`` with the three services' real activity workers
(the activities ``OrderSagaWorkflow`` uses), each on a task queue of its own, over
service databases of its own. It places three orders at once: a plain one, one whose
first charge reply is lost (the payment is made, the reply never arrives), and one
whose card is declined. Then it reads each run's history and the three services'
state, and says the first thing that is wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from saga_lab import history
from saga_lab.checkout import end_state, terminate_if_running
from saga_lab.config import ACTIONS, order_id_of
from saga_lab.connection import workflow_id
from saga_lab.failures import root_message
from saga_lab.faults import Fault, FaultInjector
from saga_lab.models import COMPLETED
from saga_lab.notebook import check as verdict
from saga_lab.services import Services, open_services
from saga_lab.worker import activity_executor, service_activities

from . import fresh_id, practice
from .e01_hello import quiet_client, quiet_sdk_logs, wait_for_end

MODULE = "e03_forward_steps"
WORKFLOW = "ForwardStepsWorkflow"
SERVICE_OF_STEP = {"charge": "payment", "create_order": "order", "create_shipment": "shipping"}
#: The orders the check places: (what it is, amount).
ORDERS = {"plain": 4999, "lost-reply": 2500, "declined": 1999}
RUN_TIMEOUT_S = 15.0


def _file() -> str:
    package = "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"
    return f"{package}/{MODULE}.py"


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


async def _completed_order(
    client: Client, handle: WorkflowHandle, what: str, order_id: str, queues: dict, stores: Services, home: Path
) -> str | None:
    """A plain order (or one whose first charge reply was lost): three steps, one charge, all three services agree."""
    stuck = await wait_for_end(handle, RUN_TIMEOUT_S, failed_attempts=1 if what == "plain" else 2)
    if stuck:
        return f"the {what} order: {stuck}"
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        return f"the {what} order's run failed: {root_message(failure)}"
    runs = history.activities(await handle.fetch_history())
    row = await end_state(client, order_id, home)
    if not runs:
        return (
            f"the {what} order's run ended {getattr(result, 'status', result)!r} but ran no activity: "
            f"the services show {_state(row)}"
        )
    names = [run.name for run in runs]
    if names != list(ACTIONS):
        return f"the {what} order's run ran {', '.join(names)}; the happy path is {', '.join(ACTIONS)}, in this order"
    for run in runs:
        expected = queues[SERVICE_OF_STEP[run.name]]
        if run.task_queue != expected:
            return f"{run.name} was sent to the task queue {run.task_queue!r}, not its service's ({expected!r})"
    charges = [e for e in stores.payment.ledger(order_id) if e.kind == "charge"]
    if len(charges) != 1:
        return (
            f"the {what} order was charged {len(charges)} times: a retry of the charge made a new payment "
            "instead of getting the first one back"
        )
    if (row["payment"], row["net"], row["order"], row["shipment"]) != ("CHARGED", ORDERS[what], "ACTIVE", "CREATED"):
        return f"after the {what} order's run the services show {_state(row)}"
    if getattr(result, "status", None) != COMPLETED or result.payment_id != charges[0].payment_id:
        return f"the {what} order's run returned {result!r}: it should say COMPLETED, with the payment's id"
    shipments = [s.shipment_id for s in stores.shipping.shipments(order_id)]
    if result.shipment_id not in shipments:
        return f"the {what} order's run returned {result!r}: it should carry the shipment's id"
    return None


async def _declined_order(client: Client, handle: WorkflowHandle, order_id: str, home: Path) -> str | None:
    """A declined card: one attempt (a business "no" is not retried), the run fails, nothing else is done."""
    stuck = await wait_for_end(handle, RUN_TIMEOUT_S, failed_attempts=1)
    if stuck:
        if "PaymentDeclined" in stuck or "declined" in stuck:
            return (
                "a declined card (PaymentDeclined, a business error) was charged again and again: "
                "retrying cannot change a business answer, so the step's retry policy must not retry it"
            )
        return f"the declined order: {stuck}"
    row = await end_state(client, order_id, home)
    description = await handle.describe()
    if row["order"] is not None or row["shipment"] is not None:
        return f"after the card was declined, the run went on: the services show {_state(row)}"
    if description.status != Status.FAILED:
        return (
            f"the declined order's run ended {description.status.name}: a step that fails for good fails the run "
            "(there is no compensation yet)"
        )
    return None


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    """What is wrong with the module's forward steps, or None when they work."""
    if module is None:
        try:
            module = practice(MODULE)
        except Exception as err:
            return f"{_file()} does not import: {type(err).__name__}: {err}"
    workflow_class = getattr(module, WORKFLOW, None)
    steps_input = getattr(module, "StepsInput", None)
    if workflow_class is None or steps_input is None:
        return f"{_file()} has no {WORKFLOW} or StepsInput: keep the names the file started with"
    quiet = await quiet_client(client)
    run = fresh_id("ex03")
    orders = {what: f"{run}-{what}" for what in ORDERS}
    queues = {service: f"{run}-{service}" for service in ("payment", "order", "shipping", "workflow")}
    home = Path(tempfile.mkdtemp(prefix="ex03-"))
    stores = open_services(home)
    faults = CheckFaults(lost_reply=orders["lost-reply"], declined=orders["declined"])
    try:
        workers = [
            Worker(
                quiet,
                task_queue=queues[service],
                activities=service_activities(service, stores, faults),
                activity_executor=activity_executor(),
            )
            for service in ("payment", "order", "shipping")
        ]
        workers.append(Worker(quiet, task_queue=queues["workflow"], workflows=[workflow_class]))
    except (TypeError, ValueError) as err:
        shutil.rmtree(home, ignore_errors=True)
        return f"the worker refuses your code: {err}"
    service_queues = {service: queue for service, queue in queues.items() if service != "workflow"}
    handles: dict[str, WorkflowHandle] = {}
    tasks = [asyncio.create_task(worker.run()) for worker in workers]
    try:
        with quiet_sdk_logs():
            for what, amount in ORDERS.items():
                handles[what] = await quiet.start_workflow(
                    workflow_class.run,
                    steps_input(orders[what], amount, dict(service_queues)),
                    id=workflow_id(quiet, orders[what]),
                    task_queue=queues["workflow"],
                )
            for what in ("plain", "lost-reply"):
                found = await _completed_order(quiet, handles[what], what, orders[what], queues, stores, home)
                if found:
                    return found
            return await _declined_order(quiet, handles["declined"], orders["declined"], home)
    except Exception as err:  # e.g. StepsInput changed so that the check cannot build it
        return f"the check could not run your workflow: {type(err).__name__}: {err}"
    finally:
        for handle in handles.values():
            with contextlib.suppress(Exception):  # the check's verdict stands
                await terminate_if_running(handle, "the exercise check is done with this run")
        await asyncio.gather(*(worker.shutdown() for worker in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
        shutil.rmtree(home, ignore_errors=True)


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run your forward steps for real and print PASS, or NOT YET and what is wrong."""
    found = await problem(client, module)
    return verdict(
        found is None,
        "each step runs on its service's task queue; a lost reply is retried without a second payment; "
        "a declined card is not retried and stops the order.",
        found or "",
    )
