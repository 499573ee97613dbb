# PASS: undos as closures inserted at the front (so the list runs forward), activities called by name
"""Exercise 05, right, another style: ``compensations.insert(0, ...)`` of zero-argument coroutine makers."""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from saga_lab.models import (
        CancelOrderInput,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
        RefundInput,
    )
    from saga_lab.workflows import COMPENSATION_RETRY, STEP_RETRY


def call(activity: str, argument, policy) -> object:
    return workflow.execute_activity(
        activity, argument, start_to_close_timeout=timedelta(seconds=2), retry_policy=policy
    )


@workflow.defn
class PlainSagaWorkflow:
    @workflow.run
    async def run(self, order: OrderInput) -> str:
        key, fault, oid = workflow.info().workflow_id, order.faults.for_step, order.order_id
        compensations = []
        try:
            await call("charge", ChargeInput(oid, order.amount, f"{key}:charge", fault("charge")), STEP_RETRY)
            refund = RefundInput(oid, f"{key}:refund", fault("refund"))
            compensations.insert(0, lambda: call("refund", refund, COMPENSATION_RETRY))
            create = CreateOrderInput(oid, order.amount, f"{key}:create_order", fault("create_order"))
            await call("create_order", create, STEP_RETRY)
            cancel = CancelOrderInput(oid, f"{key}:cancel_order", fault("cancel_order"))
            compensations.insert(0, lambda: call("cancel_order", cancel, COMPENSATION_RETRY))
            ship = CreateShipmentInput(oid, f"{key}:create_shipment", fault("create_shipment"))
            await call("create_shipment", ship, STEP_RETRY)
        except (FailureError, asyncio.CancelledError) as stopped:
            for compensate in compensations:
                try:
                    await compensate()
                except ActivityError as err:
                    raise ApplicationError("needs a person: an undo failed for good", non_retryable=True) from err
            if is_cancelled_exception(stopped):
                raise
            return "COMPENSATED: a step failed, everything was undone"
        return "COMPLETED"
