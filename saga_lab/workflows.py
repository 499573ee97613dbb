"""Workflows: orchestration only. Every side effect happens in an activity.

``OrderSagaWorkflow`` runs payment -> order -> shipping and undoes what was done
when a later step fails or the order is cancelled. ``NaiveOrderWorkflow`` runs the
same steps with no compensation, to show the inconsistent state it leaves behind.
``HelloWorkflow`` is the first workflow of the workshop.

These live in a package (not in a notebook cell) because the worker's sandbox
re-imports a workflow's module from its file, and a kernel's ``__main__`` has none.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from .activities import (
        CancelOrderInput,
        CancelShipmentInput,
        ChargeInput,
        CreateOrderInput,
        CreateShipmentInput,
        RefundInput,
    )
    from .config import ORDER_TASK_QUEUE, PAYMENT_TASK_QUEUE, SHIPPING_TASK_QUEUE
    from .faults import FaultPlan
    from .saga import CompensationFailed, Saga
    from .services.errors import NON_RETRYABLE_ERROR_TYPES

COMPLETED = "COMPLETED"
COMPENSATED = "COMPENSATED"
FAILED = "FAILED"

#: Short on purpose: this is a lab, and a timeout fault costs one of these per attempt.
STEP_TIMEOUT = timedelta(seconds=2)

#: A forward step: a few quick retries for transient trouble, none for business errors.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=5,
    non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
)

#: A compensation must not give up on a transient fault: keep retrying (maximum_attempts=0).
#: A business error still stops it: the saga then ends FAILED and needs a person.
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=0,
    non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
)


#: Custom search attributes, registered by the embedded server at start (and by
#: docker-compose's admin tools), so sagas can be listed by status in the Web UI and CLI.
ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
FAILED_STEP = SearchAttributeKey.for_keyword("FailedStep")


def initial_search_attributes() -> TypedSearchAttributes:
    """What a client sets when it starts a saga; the workflow then keeps them current."""
    return TypedSearchAttributes([SearchAttributePair(ORDER_STATUS, "RUNNING")])


@dataclass
class OrderInput:
    order_id: str
    amount: int
    faults: FaultPlan = field(default_factory=FaultPlan)
    #: Hold the order this long before shipping (a cooling-off period); cancellable.
    hold_seconds: float = 0.0
    parallel_compensation: bool = False
    #: A business deadline: past it, the saga stops and compensates (0 = none). Unlike a
    #: workflow run timeout, which ends the run on the spot and skips compensation.
    deadline_seconds: float = 0.0


@dataclass
class OrderResult:
    order_id: str
    status: str
    payment_id: str | None = None
    shipment_id: str | None = None
    compensations: list[str] = field(default_factory=list)
    error: str | None = None
    failed_step: str | None = None


@dataclass
class Progress:
    order_id: str
    current_step: str | None
    steps_done: list[str]
    compensations_done: list[str]
    compensating: bool
    cancel_requested: str | None


class OrderCancelledByCustomer(Exception):
    """Raised inside the workflow when the ``cancel_order`` update arrives."""


def root_message(err: BaseException) -> str:
    """The innermost failure's message: what the service or the server said."""
    while getattr(err, "cause", None) is not None:
        err = err.cause
    return getattr(err, "message", None) or str(err) or type(err).__name__


def _business_failure(err: BaseException) -> bool:
    """A non-retryable domain error: the service guarantees it wrote nothing."""
    return (
        isinstance(err, ActivityError)
        and isinstance(err.cause, ApplicationError)
        and err.cause.type in NON_RETRYABLE_ERROR_TYPES
    )


@workflow.defn
class OrderSagaWorkflow:
    """Charge, create the order, ship it; on failure or cancellation, undo in reverse."""

    def __init__(self) -> None:
        self._order_id = ""
        self._current: str | None = None
        self._done: list[str] = []
        self._cancel_reason: str | None = None
        self._deadline_passed = False
        self._saga = Saga()

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        self._order_id = input.order_id
        if input.deadline_seconds <= 0:
            return await self._run_saga(input)
        body = asyncio.create_task(self._run_saga(input))
        try:
            await workflow.wait_condition(body.done, timeout=timedelta(seconds=input.deadline_seconds))
        except TimeoutError:
            self._deadline_passed = True
            body.cancel()  # the Saga compensates, then _run_saga reports COMPENSATED
        except asyncio.CancelledError:
            body.cancel()  # the whole workflow was cancelled: let the saga compensate first
            await workflow.wait([body])
            raise
        return await body

    async def _run_saga(self, input: OrderInput) -> OrderResult:
        self._saga = saga = Saga(parallel_compensation=input.parallel_compensation)
        result = OrderResult(order_id=input.order_id, status=COMPLETED)
        try:
            async with saga:
                await self._forward_steps(input, result)
        except CompensationFailed as err:
            result.status = FAILED
            result.error = f"needs a person: {err.message}"
            result.failed_step = self._current
            result.compensations = saga.compensated
            self._publish(result.status, result.failed_step)
            raise ApplicationError(result.error, result, type="CompensationFailed", non_retryable=True) from err
        except (asyncio.CancelledError, ActivityError, OrderCancelledByCustomer) as err:
            cancelled = isinstance(err, asyncio.CancelledError) or (
                isinstance(err, ActivityError) and isinstance(err.cause, CancelledError)
            )
            if cancelled and not self._deadline_passed:
                self._publish("CANCELLED", self._current)
                raise asyncio.CancelledError("the workflow was cancelled") from err  # ends CANCELED
            result.status = COMPENSATED
            result.failed_step = self._current
            if cancelled:
                result.error = f"the business deadline passed during {self._current}: the order was undone"
            elif isinstance(err, ActivityError):
                result.error = f"{self._current}: {root_message(err)}"
            else:
                result.error = str(err)
            result.compensations = saga.compensated
            result.shipment_id = None
        self._publish(result.status, result.failed_step)
        workflow.logger.info(
            "saga %s: %s", result.status, result.error or "all steps done", extra={"order_id": self._order_id}
        )
        self._current = None
        return result

    def _publish(self, status: str, failed_step: str | None) -> None:
        """Keep the search attributes current, when the client set them at start."""
        if workflow.info().typed_search_attributes.get(ORDER_STATUS) is None:
            return
        updates = [ORDER_STATUS.value_set(status)]
        if failed_step:
            updates.append(FAILED_STEP.value_set(failed_step))
        workflow.upsert_search_attributes(updates)

    async def _forward_steps(self, input: OrderInput, result: OrderResult) -> None:
        """The saga's steps in order: payment, order, a hold, shipping (the pivot)."""
        await self._charge(input, result)
        await self._create_order(input)
        await self._hold(input.hold_seconds)
        await self._create_shipment(input, result)

    async def _charge(self, input: OrderInput, result: OrderResult) -> None:
        result.payment_id = await self._step(
            "charge",
            PAYMENT_TASK_QUEUE,
            ChargeInput(input.order_id, input.amount, self._key("charge"), input.faults.for_step("charge")),
            undo=(
                "refund",
                PAYMENT_TASK_QUEUE,
                RefundInput(input.order_id, self._key("refund"), input.faults.for_step("refund")),
            ),
        )

    async def _create_order(self, input: OrderInput) -> None:
        await self._step(
            "create_order",
            ORDER_TASK_QUEUE,
            CreateOrderInput(
                input.order_id, input.amount, self._key("create_order"), input.faults.for_step("create_order")
            ),
            undo=(
                "cancel_order",
                ORDER_TASK_QUEUE,
                CancelOrderInput(input.order_id, self._key("cancel_order"), input.faults.for_step("cancel_order")),
            ),
        )

    async def _create_shipment(self, input: OrderInput, result: OrderResult) -> None:
        """The pivot: no undo once it succeeded, one only if its outcome is unknown."""
        result.shipment_id = await self._step(
            "create_shipment",
            SHIPPING_TASK_QUEUE,
            CreateShipmentInput(input.order_id, self._key("create_shipment"), input.faults.for_step("create_shipment")),
            undo=(
                "cancel_shipment",
                SHIPPING_TASK_QUEUE,
                CancelShipmentInput(input.order_id, self._key("cancel_shipment")),
            ),
            undo_only_if_unknown=True,
        )

    async def _step(
        self, name: str, task_queue: str, arg: Any, *, undo: tuple[str, str, Any], undo_only_if_unknown: bool = False
    ) -> Any:
        """Run one step; register its compensation once the step has (or may have) done its work.

        A business error means nothing was written, so there is nothing to undo. A
        timeout or a cancellation leaves the outcome unknown, so the undo is registered.
        """
        self._current = name
        self._raise_if_cancel_requested()
        undo_name, undo_queue, undo_arg = undo
        try:
            value = await workflow.execute_activity(
                name,
                arg,
                task_queue=task_queue,
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=STEP_RETRY,
                cancellation_type=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            )
        except GeneratorExit:  # the worker is evicting this run from its cache: not a failure
            raise
        except BaseException as err:
            unknown = not _business_failure(err)
            workflow.logger.info(
                "step %s failed (%s): %s",
                name,
                "outcome unknown, will undo" if unknown else "nothing written",
                root_message(err),
                extra={"order_id": self._order_id},
            )
            if unknown:
                self._saga.add_compensation(undo_name, self._compensate, undo_name, undo_queue, undo_arg)
            raise
        workflow.logger.info("step %s done", name, extra={"order_id": self._order_id})
        self._done.append(name)
        if not undo_only_if_unknown:
            self._saga.add_compensation(undo_name, self._compensate, undo_name, undo_queue, undo_arg)
        return value

    async def _compensate(self, name: str, task_queue: str, arg: Any) -> Any:
        workflow.logger.info("compensation %s started", name, extra={"order_id": self._order_id})
        value = await workflow.execute_activity(
            name, arg, task_queue=task_queue, start_to_close_timeout=STEP_TIMEOUT, retry_policy=COMPENSATION_RETRY
        )
        workflow.logger.info("compensation %s done", name, extra={"order_id": self._order_id})
        return value

    async def _hold(self, seconds: float) -> None:
        """Wait before shipping; a ``cancel_order`` update ends the wait early."""
        if seconds <= 0:
            return
        self._current = "hold"
        try:
            await workflow.wait_condition(lambda: self._cancel_reason is not None, timeout=timedelta(seconds=seconds))
        except TimeoutError:
            pass
        self._raise_if_cancel_requested()

    def _raise_if_cancel_requested(self) -> None:
        if self._cancel_reason is not None:
            raise OrderCancelledByCustomer(f"cancelled by the customer: {self._cancel_reason}")

    def _key(self, step: str) -> str:
        """The idempotency key of one step of this order: a retry repeats it, never a new charge."""
        return f"{workflow.info().workflow_id}:{step}"

    @workflow.query
    def progress(self) -> Progress:
        return Progress(
            order_id=self._order_id,
            current_step=self._current,
            steps_done=list(self._done),
            compensations_done=self._saga.compensated,
            compensating=self._saga.compensating,
            cancel_requested=self._cancel_reason,
        )

    @workflow.update
    async def cancel_order(self, reason: str) -> str:
        """Ask the saga to stop and undo what it did; it does so at its next step or wait."""
        self._cancel_reason = reason or "no reason given"
        return f"cancellation requested for {self._order_id}"

    @cancel_order.validator
    def _validate_cancel(self, reason: str) -> None:
        if self._current == "create_shipment" or self._done == ["charge", "create_order", "create_shipment"]:
            raise ApplicationError("too late to cancel: the order is being shipped")
        if self._saga.compensation_started:
            raise ApplicationError("the order is already being undone")
        if self._cancel_reason is not None:
            raise ApplicationError(f"cancellation was already requested: {self._cancel_reason}")


@workflow.defn
class NaiveOrderWorkflow:
    """The same three steps with retries but no compensation: a failure leaves the charge behind."""

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        result = OrderResult(order_id=input.order_id, status=COMPLETED)
        key = workflow.info().workflow_id
        steps = [
            (
                "charge",
                PAYMENT_TASK_QUEUE,
                ChargeInput(input.order_id, input.amount, f"{key}:charge", input.faults.for_step("charge")),
            ),
            (
                "create_order",
                ORDER_TASK_QUEUE,
                CreateOrderInput(
                    input.order_id, input.amount, f"{key}:create_order", input.faults.for_step("create_order")
                ),
            ),
            (
                "create_shipment",
                SHIPPING_TASK_QUEUE,
                CreateShipmentInput(input.order_id, f"{key}:create_shipment", input.faults.for_step("create_shipment")),
            ),
        ]
        values: dict[str, Any] = {}
        for name, task_queue, arg in steps:
            try:
                values[name] = await workflow.execute_activity(
                    name, arg, task_queue=task_queue, start_to_close_timeout=STEP_TIMEOUT, retry_policy=STEP_RETRY
                )
            except ActivityError as err:
                result.status = FAILED
                result.failed_step = name
                result.error = f"{name}: {root_message(err)}"
                result.payment_id = values.get("charge")
                raise ApplicationError(result.error, result, type="StepFailed", non_retryable=True) from err
        result.payment_id = values["charge"]
        result.shipment_id = values["create_shipment"]
        return result


@workflow.defn
class HelloWorkflow:
    """One activity call: the smallest workflow, used to check the setup."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity("compose_greeting", name, start_to_close_timeout=timedelta(seconds=5))
