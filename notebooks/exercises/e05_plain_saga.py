"""Exercise 05 · the saga by hand, in plain temporalio.

Three steps, and a list of compensations that grows as the steps succeed. When a step
fails, the ``except`` block runs the compensations in reverse (newest first), then
re-raises, so the run still ends FAILED and says why. This is all a saga is; the
Python SDK has no Saga class.

Today the list stays empty: fill in the two TODOs, save, and rerun the check cell in
notebook 05. The check runs this workflow (its own worker runs it and the three
services' activities, all on one task queue) with a fault at each step.
"""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.models import (
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
    )
    from saga_lab.workflows import COMPENSATION_RETRY, STEP_RETRY

STEP = {"start_to_close_timeout": timedelta(seconds=2), "retry_policy": STEP_RETRY}
UNDO = {"start_to_close_timeout": timedelta(seconds=2), "retry_policy": COMPENSATION_RETRY}


@workflow.defn
class PlainSagaWorkflow:
    @workflow.run
    async def run(self, order: OrderInput) -> str:
        key, fault = workflow.info().workflow_id, order.faults.for_step
        compensations = []  # (activity, argument) pairs: how to undo each step that succeeded
        try:
            await workflow.execute_activity_method(
                PaymentActivities.charge,
                ChargeInput(order.order_id, order.amount, f"{key}:charge", fault("charge")),
                **STEP,
            )
            # TODO: the customer is charged. Remember how to undo it: PaymentActivities.refund
            #       with RefundInput(order.order_id, f"{key}:refund", fault("refund")).

            await workflow.execute_activity_method(
                OrderActivities.create_order,
                CreateOrderInput(order.order_id, order.amount, f"{key}:create_order", fault("create_order")),
                **STEP,
            )
            # TODO: the order exists. Remember how to undo it: OrderActivities.cancel_order
            #       with CancelOrderInput(order.order_id, f"{key}:cancel_order", fault("cancel_order")).

            await workflow.execute_activity_method(
                ShippingActivities.create_shipment,
                CreateShipmentInput(order.order_id, f"{key}:create_shipment", fault("create_shipment")),
                **STEP,
            )
        except Exception:
            for activity, argument in reversed(compensations):
                await workflow.execute_activity_method(activity, argument, **UNDO)
            raise
        return "COMPLETED"
