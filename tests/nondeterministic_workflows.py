"""Two changed versions of ``OrderSagaWorkflow``, for the replay tests and notebook 09.

The change: create the order *before* charging (the other order of steps that notebook
05 weighs). Both keep the workflow's name, ``OrderSagaWorkflow``, as a new deployment
of the same workflow would, so they meet the histories that the current code recorded:

* :class:`OrderFirstWorkflow` just swaps the steps. Replaying a recorded run fails with
  a ``NondeterminismError``: the history says the first activity scheduled was
  ``charge``, the new code asks for ``create_order``. A worker with this code would
  get stuck on every saga in flight.
* :class:`OrderFirstPatchedWorkflow` guards the change with ``workflow.patched``: a run
  that started before the change (no patch marker in its history) keeps charging
  first; a new run records the marker and creates the order first. Both replay.

They live in a module file, not in a notebook cell, because the workflow sandbox
re-imports a workflow's module from its file.
"""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from saga_lab.workflows import (
    COMPENSATED,
    COMPLETED,
    FAILED,
    OrderCancelledByCustomer,
    OrderInput,
    OrderResult,
    OrderSagaWorkflow,
    root_message,
)

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import (
        CancelOrderInput,
        CancelShipmentInput,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        RefundInput,
    )
    from saga_lab.config import ORDER_TASK_QUEUE, PAYMENT_TASK_QUEUE, SHIPPING_TASK_QUEUE
    from saga_lab.saga import CompensationFailed, Saga

#: The patch id: it is recorded in the history of every run that took the new branch.
ORDER_FIRST_PATCH = "create-order-before-charge"


class _CreatesTheOrderFirst(OrderSagaWorkflow):
    """``OrderSagaWorkflow.run`` with its first two steps swapped; nothing else differs."""

    async def _run_order_first(self, input: OrderInput) -> OrderResult:
        self._order_id = input.order_id
        self._saga = saga = Saga(parallel_compensation=input.parallel_compensation)
        result = OrderResult(order_id=input.order_id, status=COMPLETED)
        try:
            async with saga:
                await self._step(
                    "create_order", ORDER_TASK_QUEUE,
                    CreateOrderInput(input.order_id, input.amount, self._key("create_order"), input.faults.for_step("create_order")),
                    undo=("cancel_order", ORDER_TASK_QUEUE, CancelOrderInput(input.order_id, self._key("cancel_order"), input.faults.for_step("cancel_order"))),
                )  # fmt: skip
                result.payment_id = await self._step(
                    "charge", PAYMENT_TASK_QUEUE,
                    ChargeInput(input.order_id, input.amount, self._key("charge"), input.faults.for_step("charge")),
                    undo=("refund", PAYMENT_TASK_QUEUE, RefundInput(input.order_id, self._key("refund"), input.faults.for_step("refund"))),
                )  # fmt: skip
                await self._hold(input.hold_seconds)
                result.shipment_id = await self._step(
                    "create_shipment", SHIPPING_TASK_QUEUE,
                    CreateShipmentInput(input.order_id, self._key("create_shipment"), input.faults.for_step("create_shipment")),
                    undo=("cancel_shipment", SHIPPING_TASK_QUEUE, CancelShipmentInput(input.order_id, self._key("cancel_shipment"))),
                    undo_only_if_unknown=True,
                )  # fmt: skip
        except CompensationFailed as err:
            result.status = FAILED
            result.error = f"needs a person: {err.message}"
            result.failed_step = self._current
            result.compensations = saga.compensated
            self._publish(result.status, result.failed_step)
            raise ApplicationError(result.error, result, type="CompensationFailed", non_retryable=True) from err
        except asyncio.CancelledError:
            self._publish("CANCELLED", self._current)
            raise
        except (ActivityError, OrderCancelledByCustomer) as err:
            if isinstance(err, ActivityError) and isinstance(err.cause, CancelledError):
                raise asyncio.CancelledError("the workflow was cancelled") from err
            result.status = COMPENSATED
            result.failed_step = self._current
            result.error = f"{self._current}: {root_message(err)}" if isinstance(err, ActivityError) else str(err)
            result.compensations = saga.compensated
            result.shipment_id = None
        self._publish(result.status, result.failed_step)
        self._current = None
        return result


@workflow.defn(name="OrderSagaWorkflow")
class OrderFirstWorkflow(_CreatesTheOrderFirst):
    """NON-DETERMINISTIC for every run recorded before the change: it schedules another first activity."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        return await self._run_order_first(input)


@workflow.defn(name="OrderSagaWorkflow")
class OrderFirstPatchedWorkflow(_CreatesTheOrderFirst):
    """The same change behind ``workflow.patched``: old runs keep the old order, new runs take the new one."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        if workflow.patched(ORDER_FIRST_PATCH):
            return await self._run_order_first(input)
        return await super().run(input)
