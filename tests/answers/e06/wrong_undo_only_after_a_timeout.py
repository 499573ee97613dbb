# NOT YET naming "reply lost as an error", "the order is still ACTIVE": retries that ran out are not undone
"""Exercise 06, wrong: only a timeout counts as an unknown outcome; exhausted retries on errors leave the work."""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, TimeoutError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.failures import root_message
    from saga_lab.models import (
        CancelOrderInput,
        CancelShipmentInput,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
        RefundInput,
    )
    from saga_lab.services.errors import NON_RETRYABLE_ERROR_TYPES
    from saga_lab.workflows import COMPENSATION_RETRY

#: Short on purpose, so the check is quick: 3 attempts of 1 s each.
STEP = {
    "start_to_close_timeout": timedelta(seconds=1),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_attempts=3,
        non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
    ),
}
UNDO = {"start_to_close_timeout": timedelta(seconds=2), "retry_policy": COMPENSATION_RETRY}

Call = tuple[Callable[..., Any], Any]


@workflow.defn
class UnknownOutcomeSagaWorkflow:
    @workflow.init
    def __init__(self, order: OrderInput) -> None:
        self.compensations: list[Call] = []

    @workflow.run
    async def run(self, order: OrderInput) -> str:
        key, fault, oid = workflow.info().workflow_id, order.faults.for_step, order.order_id
        try:
            await self._step(
                (PaymentActivities.charge, ChargeInput(oid, order.amount, f"{key}:charge", fault("charge"))),
                undo=(PaymentActivities.refund, RefundInput(oid, f"{key}:refund", fault("refund"))),
            )
            await self._step(
                (
                    OrderActivities.create_order,
                    CreateOrderInput(oid, order.amount, f"{key}:order", fault("create_order")),
                ),
                undo=(
                    OrderActivities.cancel_order,
                    CancelOrderInput(oid, f"{key}:cancel_order", fault("cancel_order")),
                ),
            )
            await self._step(
                (ShippingActivities.create_shipment, CreateShipmentInput(oid, f"{key}:ship", fault("create_shipment"))),
                undo=(ShippingActivities.cancel_shipment, CancelShipmentInput(oid, f"{key}:cancel_ship", None)),
            )
        except (FailureError, asyncio.CancelledError) as stopped:  # as in exercise 05: never for a bug
            for activity, argument in reversed(self.compensations):
                try:
                    await workflow.execute_activity_method(activity, argument, **UNDO)
                except ActivityError as err:
                    why = f"needs a person: {activity.__name__} failed: {root_message(err)}"
                    raise ApplicationError(why, non_retryable=True) from err
            if is_cancelled_exception(stopped):
                raise
            return f"COMPENSATED: {root_message(stopped)}"
        return "COMPLETED"

    async def _step(self, call: Call, *, undo: Call) -> Any:
        """Run one step; register its undo once the step has done its work."""
        activity, argument = call
        try:
            result = await workflow.execute_activity_method(activity, argument, **STEP)
        except ActivityError as err:
            if isinstance(err.cause, TimeoutError):
                self.compensations.append(undo)
            raise
        self.compensations.append(undo)
        return result
