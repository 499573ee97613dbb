# NOT YET naming "`refund` was scheduled although `charge` was declined": every undo runs in except
"""Exercise 05, wrong: no list at all; the ``except`` block refunds and cancels whatever happened."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
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
        try:
            await workflow.execute_activity_method(
                PaymentActivities.charge,
                ChargeInput(order.order_id, order.amount, f"{key}:charge", fault("charge")),
                **STEP,
            )
            await workflow.execute_activity_method(
                OrderActivities.create_order,
                CreateOrderInput(order.order_id, order.amount, f"{key}:create_order", fault("create_order")),
                **STEP,
            )
            await workflow.execute_activity_method(
                ShippingActivities.create_shipment,
                CreateShipmentInput(order.order_id, f"{key}:create_shipment", fault("create_shipment")),
                **STEP,
            )
        except (FailureError, asyncio.CancelledError) as stopped:
            await workflow.execute_activity_method(
                OrderActivities.cancel_order, CancelOrderInput(order.order_id, f"{key}:cancel_order"), **UNDO
            )
            await workflow.execute_activity_method(
                PaymentActivities.refund, RefundInput(order.order_id, f"{key}:refund"), **UNDO
            )
            if is_cancelled_exception(stopped):
                raise
            return "COMPENSATED"
        return "COMPLETED"
