"""The three steps with retries and no compensation: what a failure leaves behind without a saga."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ..activities import OrderActivities, PaymentActivities, ShippingActivities
    from ..config import prefix_of, task_queue
    from ..failures import root_message
    from ..models import (
        COMPLETED,
        FAILED,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
        OrderResult,
    )
    from .policies import STEP_RETRY, STEP_TIMEOUT


@workflow.defn
class NaiveOrderWorkflow:
    """Charge, create the order, ship it; when a step fails for good, stop, and undo nothing."""

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        result = OrderResult(order.order_id, COMPLETED)
        key = workflow.info().workflow_id
        prefix = prefix_of(workflow.info().task_queue)
        current = "charge"
        try:
            result.payment_id = await workflow.execute_activity_method(
                PaymentActivities.charge,
                ChargeInput(order.order_id, order.amount, f"{key}:charge", order.faults.for_step("charge")),
                task_queue=task_queue("payment", prefix),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            current = "create_order"
            await workflow.execute_activity_method(
                OrderActivities.create_order,
                CreateOrderInput(order.order_id, order.amount, f"{key}:create_order", order.faults.for_step(current)),
                task_queue=task_queue("order", prefix),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
            current = "create_shipment"
            result.shipment_id = await workflow.execute_activity_method(
                ShippingActivities.create_shipment,
                CreateShipmentInput(order.order_id, f"{key}:create_shipment", order.faults.for_step(current)),
                task_queue=task_queue("shipping", prefix),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
            )
        except ActivityError as err:
            result.status, result.failed_step = FAILED, current
            result.error = f"{current}: {root_message(err)}"
            raise ApplicationError(result.error, result, type="StepFailed", non_retryable=True) from err
        return result
