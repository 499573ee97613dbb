# PASS: a dict of undos by step, run newest first, the result built with a helper
"""Exercise 05, right, another style: ``undos[step] = (activity, argument)``; dicts keep their insertion order."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, is_cancelled_exception

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

STEP = {"start_to_close_timeout": timedelta(seconds=3), "retry_policy": STEP_RETRY}
UNDO = {"start_to_close_timeout": timedelta(seconds=3), "retry_policy": COMPENSATION_RETRY}


@workflow.defn
class PlainSagaWorkflow:
    @workflow.run
    async def run(self, order: OrderInput) -> str:
        key, fault, oid = workflow.info().workflow_id, order.faults.for_step, order.order_id
        undos: dict[str, tuple] = {}
        try:
            await workflow.execute_activity_method(
                PaymentActivities.charge, ChargeInput(oid, order.amount, f"{key}:charge", fault("charge")), **STEP
            )
            undos["charge"] = (PaymentActivities.refund, RefundInput(oid, f"{key}:refund", fault("refund")))
            await workflow.execute_activity_method(
                OrderActivities.create_order,
                CreateOrderInput(oid, order.amount, f"{key}:create_order", fault("create_order")),
                **STEP,
            )
            undos["create_order"] = (
                OrderActivities.cancel_order,
                CancelOrderInput(oid, f"{key}:cancel_order", fault("cancel_order")),
            )
            await workflow.execute_activity_method(
                ShippingActivities.create_shipment,
                CreateShipmentInput(oid, f"{key}:create_shipment", fault("create_shipment")),
                **STEP,
            )
        except (FailureError, asyncio.CancelledError) as stopped:
            for step in reversed(list(undos)):
                activity, argument = undos[step]
                try:
                    await workflow.execute_activity_method(activity, argument, **UNDO)
                except ActivityError as err:
                    raise ApplicationError(f"needs a person: the undo of {step} failed", non_retryable=True) from err
            if is_cancelled_exception(stopped):
                raise
            return "COMPENSATED"
        return "COMPLETED"
