# NOT YET naming "the run with", "NameError", "compensation", "wrong_typo_in_the_list_name.py, line": a typo
"""Exercise 05, wrong: `compensation` for `compensations`: the workflow task fails; a bug is never undone."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.failures import root_message
    from saga_lab.models import (
        CancelOrderInput,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
        RefundInput,
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
            compensations.append(
                (PaymentActivities.refund, RefundInput(order.order_id, f"{key}:refund", fault("refund")))
            )

            await workflow.execute_activity_method(
                OrderActivities.create_order,
                CreateOrderInput(order.order_id, order.amount, f"{key}:create_order", fault("create_order")),
                **STEP,
            )
            compensation.append(  # noqa: F821
                (
                    OrderActivities.cancel_order,
                    CancelOrderInput(order.order_id, f"{key}:cancel_order", fault("cancel_order")),
                )
            )

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
