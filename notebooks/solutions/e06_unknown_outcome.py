"""Exercise 06 · undo a step whose outcome is unknown (solved).

The saga of exercise 05, with each step run by ``_step``, which registers the step's
undo once the step succeeded. But a step can also end with no answer at all: every
attempt timed out. The service may have done the work and lost its reply (a ``timeout``
fault does exactly that), or the work may still land later (a ``late`` fault). Today
such a step leaves its work behind: nothing undoes it.

Your task is in ``_step``, at the TODO: register the undo when the step's outcome is
unknown, and not when the service said no (a business error: it wrote nothing). Then
save, and rerun the check cell in notebook 06. Every undo of the services is safe to
run for work that never happened: refunding an order never charged refunds 0.
"""

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError, is_cancelled_exception

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
    from saga_lab.workflows import COMPENSATION_RETRY, is_business_failure

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
            if not is_business_failure(err):  # it may have done its work: undo it to be sure
                self.compensations.append(undo)
            raise
        self.compensations.append(undo)
        return result
