"""The order saga: charge, create the order, ship it; on failure or cancellation, undo in reverse.

Read it in this order: :meth:`OrderSagaWorkflow._forward_steps` (the steps),
:meth:`~OrderSagaWorkflow._step` (when an undo is registered),
:meth:`~OrderSagaWorkflow.run` (how the saga ends), then the query and the update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from ..activities import OrderActivities, PaymentActivities, ShippingActivities
    from ..config import prefix_of, task_queue
    from ..failures import root_message
    from ..models import (
        CANCELLED,
        COMPENSATED,
        COMPLETED,
        FAILED,
        FAILED_STEP,
        ORDER_STATUS,
        CancelOrderInput,
        CancelShipmentInput,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        OrderInput,
        OrderResult,
        Progress,
        RefundInput,
    )
    from ..saga import ENDS_THE_RUN, CompensationFailed, Saga
    from .policies import COMPENSATION_RETRY, STEP_RETRY, STEP_TIMEOUT, is_business_failure

#: An activity method and its one argument: a step, or the undo of a step.
Call = tuple[Callable[..., Any], Any]

#: Which worker runs each activity (the task queue is that worker's, behind the learner prefix).
SERVICE_OF = {
    PaymentActivities.charge: "payment",
    PaymentActivities.refund: "payment",
    OrderActivities.create_order: "order",
    OrderActivities.cancel_order: "order",
    ShippingActivities.create_shipment: "shipping",
    ShippingActivities.cancel_shipment: "shipping",
}


class OrderCancelledByCustomer(Exception):
    """Raised inside the workflow when the ``cancel_order`` update has arrived.

    One of the saga's own business exceptions: the Saga compensates for it (``compensate_on``).
    """


@workflow.defn
class OrderSagaWorkflow:
    """Charge, create the order, hold, ship; on failure, cancellation or deadline, undo what was done."""

    @workflow.init
    def __init__(self, order: OrderInput) -> None:
        self.order = order
        self.saga = Saga(parallel_compensation=order.parallel_compensation, compensate_on=(OrderCancelledByCustomer,))
        self.current: str | None = None
        self.done: list[str] = []
        self.cancel_reason: str | None = None
        self.shipping_started = False
        self.deadline_passed = False
        #: What stopped the saga, in words: the first failure or stop it saw (a workflow cancel,
        #: the deadline, the customer). How the saga ends is decided from this, never from
        #: which exception happened to surface.
        self.stopped_by: str | None = None
        #: How the saga ended, once it has: its result, also for a run that ends CANCELED.
        self.outcome: OrderResult | None = None

    # ------------------------------------------------------------------ the steps

    async def _forward_steps(self, result: OrderResult) -> None:
        """The saga's steps in order: payment, order, a hold, shipping (the pivot)."""
        result.payment_id = await self._charge()
        await self._create_order()
        await self._hold()
        result.shipment_id = await self._create_shipment()

    async def _charge(self) -> str:
        order = self.order
        return await self._step(
            (
                PaymentActivities.charge,
                ChargeInput(order.order_id, order.amount, self._key("charge"), self._fault("charge")),
            ),
            undo=(PaymentActivities.refund, RefundInput(order.order_id, self._key("refund"), self._fault("refund"))),
        )

    async def _create_order(self) -> str:
        order = self.order
        create = CreateOrderInput(order.order_id, order.amount, self._key("create_order"), self._fault("create_order"))
        cancel = CancelOrderInput(order.order_id, self._key("cancel_order"), self._fault("cancel_order"))
        return await self._step((OrderActivities.create_order, create), undo=(OrderActivities.cancel_order, cancel))

    async def _create_shipment(self) -> str:
        """The pivot: once a shipment is booked the order goes ahead, so it has an undo only
        while its outcome is unknown, or when the saga is stopped while it runs."""
        self.shipping_started = True
        order = self.order
        create = CreateShipmentInput(order.order_id, self._key("create_shipment"), self._fault("create_shipment"))
        cancel = CancelShipmentInput(order.order_id, self._key("cancel_shipment"), self._fault("cancel_shipment"))
        return await self._step(
            (ShippingActivities.create_shipment, create), undo=(ShippingActivities.cancel_shipment, cancel), pivot=True
        )

    async def _step(self, call: Call, *, undo: Call, pivot: bool = False) -> Any:
        """Run one step; register its undo once the step has (or may have) done its work.

        A business error means nothing was written: nothing to undo. A timeout, a
        cancellation or exhausted retries leave the outcome unknown: the undo is
        registered, and it is safe to run for work that never happened. A cancel or a
        deadline that arrived while the step ran is acted on as soon as it ends.
        """
        activity, arg = call
        self.current = name = activity.__name__
        self._raise_if_stopped()
        try:
            value = await workflow.execute_activity_method(
                activity,
                arg,
                task_queue=self._queue(activity),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
                # On a cancel, wait until Temporal knows how the running attempt ended before
                # going on. The activities do not heartbeat, so the attempt never hears the
                # cancel and runs to its end; one that Temporal timed out may still be at work
                # (slow, late), and the services' "compensation wins" rule keeps that right.
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except (FailureError, asyncio.CancelledError) as err:
            unknown = not is_business_failure(err)
            outcome = "outcome unknown, will undo" if unknown else "nothing written"
            self._log("step %s failed (%s): %s", name, outcome, root_message(err))
            if unknown:
                self._register(undo)
            self._stopped(f"{name}: {root_message(err)}")  # unless a stop came first, while the step ran
            raise
        self._log("step %s done", name)
        self.done.append(name)
        stopped = self._stop_requested()
        if not pivot or stopped:
            self._register(undo)
        # The SDK delivers a cancel once: when it lands while a step runs and the step then
        # completes, the step's result is returned and the cancel is not raised again. Ask.
        self._raise_if_stopped()
        return value

    def _register(self, undo: Call) -> None:
        activity, arg = undo
        self.saga.add_compensation(activity.__name__, self._compensate, activity, arg)

    async def _compensate(self, activity: Callable[..., Any], arg: Any) -> Any:
        name = activity.__name__
        self._log("compensation %s started", name)
        value = await workflow.execute_activity_method(
            activity,
            arg,
            task_queue=self._queue(activity),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=COMPENSATION_RETRY,
        )
        self._log("compensation %s done", name)
        return value

    async def _hold(self) -> None:
        """Wait before shipping (a cooling-off period); a ``cancel_order`` update ends the wait early."""
        if self.order.hold_seconds <= 0:
            return
        self.current = "hold"
        try:
            await workflow.wait_condition(
                lambda: self.cancel_reason is not None, timeout=timedelta(seconds=self.order.hold_seconds)
            )
        except TimeoutError:
            pass
        self._raise_if_stopped()

    # ------------------------------------------------------------ how it ends

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        if order.deadline_seconds <= 0:
            return await self._run_saga()
        body = asyncio.create_task(self._run_saga())
        # The deadline is a timer whose callback runs as soon as it fires, ahead of a step's result
        # that arrives in the same workflow task: the step is then undone, as its history says it
        # ended after the deadline. (A wait_condition timeout would reach us a loop turn later.)
        deadline = asyncio.get_running_loop().call_later(order.deadline_seconds, self._deadline_passed, body)
        while True:  # the saga compensates, then says how it ended: wait for that, whatever arrives meanwhile
            try:
                result = await asyncio.shield(body)
            except asyncio.CancelledError:  # the whole workflow was cancelled
                deadline.cancel()
                if body.done():
                    return body.result()  # the saga ended CANCELED: this raises its cancellation
                body.cancel()  # the body stops (again, if a deadline already stopped it)
                continue
            deadline.cancel()
            return result

    def _deadline_passed(self, body: asyncio.Task) -> None:
        if body.done():
            return
        self._stopped(f"the business deadline passed during {self.current}: the order was undone")
        self.deadline_passed = True
        body.cancel()

    async def _run_saga(self) -> OrderResult:
        """The steps inside the Saga; how they ended is read from what was recorded."""
        result = OrderResult(order_id=self.order.order_id, status=COMPLETED)
        try:
            async with self.saga:
                await self._forward_steps(result)
        except CompensationFailed as err:  # a failed undo wins over every other outcome: a person must act
            self._stopped(f"{self.current}: {root_message(err)}")
            result.status, result.failed_step = FAILED, self.current
            result.error = f"needs a person: {err.message}"
            result.compensations = self.saga.compensated
            result.failed_compensations = self.saga.failed
            self._end(result)
            raise ApplicationError(result.error, result, type="CompensationFailed", non_retryable=True) from err
        except (*ENDS_THE_RUN, OrderCancelledByCustomer) as err:  # every undo done; anything else is a bug
            self._stopped(f"{self.current}: {root_message(err)}")
            result.status, result.failed_step, result.error = COMPENSATED, self.current, self.stopped_by
            result.compensations = self.saga.compensated
            result.shipment_id = None
            if workflow.cancellation_reason() is not None:  # cancelled through Temporal: the run ends CANCELED
                self._end(result, CANCELLED)
                raise asyncio.CancelledError(result.error) from err
        self._end(result)
        return result

    def _end(self, result: OrderResult, published: str | None = None) -> None:
        """Record how the saga ended (the progress query reports it) and publish its status."""
        self.outcome = result
        self._publish(published or result.status, result.failed_step)
        self._log("saga %s: %s", result.status, result.error or "all steps done")
        self.current = None

    def _stopped(self, why: str) -> None:
        """Record what stopped the saga, unless something already did (the first one stays)."""
        if self.stopped_by is None and workflow.cancellation_reason() is not None:
            # A workflow cancel has no handler: it counts from when it arrived, before ``why``.
            self.stopped_by = f"the workflow was cancelled during {self.current}"
        if self.stopped_by is None:
            self.stopped_by = why

    def _stop_requested(self) -> bool:
        """A workflow cancel, a passed deadline or a customer's cancellation has arrived."""
        return workflow.cancellation_reason() is not None or self.deadline_passed or self.cancel_reason is not None

    def _raise_if_stopped(self) -> None:
        if workflow.cancellation_reason() is not None or self.deadline_passed:
            self._stopped(f"stopped during {self.current}")
            raise asyncio.CancelledError(self.stopped_by)
        if self.cancel_reason is not None:
            raise OrderCancelledByCustomer(self.stopped_by)

    # ------------------------------------------------------------------ helpers

    def _publish(self, status: str, failed_step: str | None = None) -> None:
        """Keep the search attributes current, when the starter said the server has them."""
        if not self.order.publish_search_attributes:
            return
        updates = [ORDER_STATUS.value_set(status)]
        if failed_step:
            updates.append(FAILED_STEP.value_set(failed_step))
        workflow.upsert_search_attributes(updates)

    def _key(self, step: str) -> str:
        """The idempotency key of one step of this order: a retry repeats it, never a new charge."""
        return f"{workflow.info().workflow_id}:{step}"

    def _fault(self, step: str):
        return self.order.faults.for_step(step)

    def _queue(self, activity: Callable[..., Any]) -> str:
        """The task queue of the activity's service, with this workflow's learner prefix."""
        return task_queue(SERVICE_OF[activity], prefix_of(workflow.info().task_queue))

    def _log(self, message: str, *args: Any) -> None:
        workflow.logger.info(message, *args, extra={"order_id": self.order.order_id})

    # ------------------------------------------------------- query and update

    @workflow.query
    def progress(self) -> Progress:
        return Progress(
            order_id=self.order.order_id,
            current_step=self.current,
            steps_done=list(self.done),
            compensations_done=self.saga.compensated,
            compensating=self.saga.compensating,
            cancel_requested=self.cancel_reason,
            outcome=self.outcome,
        )

    @workflow.update
    async def cancel_order(self, reason: str) -> str:
        """Ask the saga to stop and undo what it did; it does so at its next step or wait."""
        self.cancel_reason = reason or "no reason given"
        self._stopped(f"cancelled by the customer: {self.cancel_reason}")
        return f"cancellation requested for {self.order.order_id}"

    @cancel_order.validator
    def _validate_cancel(self, reason: str) -> None:
        if self.shipping_started:
            raise ApplicationError("too late to cancel: the order is being shipped")
        if self.cancel_reason is not None:
            raise ApplicationError(f"cancellation was already requested: {self.cancel_reason}")
        if self.stopped_by is not None:
            raise ApplicationError(f"the order is already being undone: {self.stopped_by}")
        if self.saga.compensation_started or workflow.cancellation_reason() is not None:
            raise ApplicationError("the order is already being undone")
