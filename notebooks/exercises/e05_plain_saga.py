"""Exercise 05 · the saga by hand, in plain temporalio.

Three steps and a list of compensations. What must be true when you are done:

- an order whose steps all succeed completes, and nothing is undone;
- when a step fails for good, every step that was done is undone, the newest first,
  and the run returns ``COMPENSATED`` (the saga handled the failure: Temporal's run
  COMPLETES, nobody must act);
- a step that the service refused (a business error: a declined card, a rejected order)
  wrote nothing, so nothing undoes it.

The ``except`` block already decides *when* to compensate: on a Temporal failure (a step
that failed for good) or a cancel, never on a bug in this code (a ``TypeError`` is not
caught: the workflow task fails, the run waits for your fix, and then goes on). ``undo``
runs the list; an undo that fails for good ends the run FAILED, "needs a person".

Today the list stays empty: fill in the two TODOs, save, and rerun the check cell in
notebook 05. The check runs this workflow (its own worker runs it and the three services'
activities, all on one task queue) with a fault at each step, then reads each run's
history and the three services.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.failures import root_message
    from saga_lab.models import (
        CancelOrderInput,  # noqa: F401 (for your TODOs)
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
        RefundInput,  # noqa: F401 (for your TODOs)
    )
    from saga_lab.workflows import COMPENSATION_RETRY, STEP_RETRY

STEP = {"start_to_close_timeout": timedelta(seconds=2), "retry_policy": STEP_RETRY}
UNDO = {"start_to_close_timeout": timedelta(seconds=2), "retry_policy": COMPENSATION_RETRY}


@workflow.defn
class PlainSagaWorkflow:
    @workflow.run
    async def run(self, order: OrderInput) -> str:
        key, fault = workflow.info().workflow_id, order.faults.for_step
        compensations = []  # (activity, argument) pairs: how to undo each step that is done
        try:
            await workflow.execute_activity_method(
                PaymentActivities.charge,
                ChargeInput(order.order_id, order.amount, f"{key}:charge", fault("charge")),
                **STEP,
            )
            # TODO: the customer is charged. If a later step fails, what undoes this one?

            await workflow.execute_activity_method(
                OrderActivities.create_order,
                CreateOrderInput(order.order_id, order.amount, f"{key}:create_order", fault("create_order")),
                **STEP,
            )
            # TODO: the order exists. What undoes it? (The comment on `compensations` says what to keep.)

            await workflow.execute_activity_method(
                ShippingActivities.create_shipment,
                CreateShipmentInput(order.order_id, f"{key}:create_shipment", fault("create_shipment")),
                **STEP,
            )
        except (FailureError, asyncio.CancelledError) as stopped:  # a step failed for good, or a cancel: not a bug
            await undo(compensations)
            if is_cancelled_exception(stopped):
                raise  # cancelled through Temporal: everything undone, the run ends CANCELED
            return f"COMPENSATED: {root_message(stopped)}"
        return "COMPLETED"


async def undo(compensations: list) -> None:
    """Run the compensations newest first; one that fails for good needs a person."""
    for activity, argument in reversed(compensations):
        try:
            await workflow.execute_activity_method(activity, argument, **UNDO)
        except ActivityError as err:
            why = f"needs a person: {activity.__name__} failed: {root_message(err)}"
            raise ApplicationError(why, non_retryable=True) from err
