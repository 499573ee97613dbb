"""Notebook 13's demos of what a person does with a saga whose undo failed for good.

Two ways. ``temporal workflow reset`` reruns the order saga from before its failed refund,
once the cause is fixed: :class:`CardFixed` stands in for the fix (the payment worker that
replaces the lab's one no longer meets the refund's injected refusal). Or the saga never
fails: :class:`AskAPersonWorkflow` waits, with what the person must decide in a query,
for the person's update, ``retry_refund`` or ``write_off``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import PaymentActivities, ShippingActivities
    from saga_lab.connection import task_queue
    from saga_lab.failures import root_message
    from saga_lab.faults import FaultInjector, FaultPlan
    from saga_lab.models import ChargeInput, CreateShipmentInput, RefundInput
    from saga_lab.workflows import STEP_RETRY

    from .workers import CountingFaults, KernelWorker, service_activity_list


class CardFixed(FaultInjector):
    """The payment service once a person has fixed the card: a refund no longer meets its injected fault."""

    def run(self, step: str, fault: Any, work: Callable[..., Any], *args: Any) -> Any:
        return super().run(step, None if step == "refund" else fault, work, *args)


@dataclass
class SmallOrder:
    order_id: str
    amount: int
    faults: list[str] = field(default_factory=list)


#: A step or an undo: one attempt takes at most 2 s, and the retry policy is the saga's own.
CALL = {"start_to_close_timeout": timedelta(seconds=2), "retry_policy": STEP_RETRY}


@workflow.defn
class AskAPersonWorkflow:
    """Charge, then ship; if shipping refuses, refund; if the refund fails for good, wait for a person.

    The run stays open (RUNNING) while it waits: ``needs_a_person`` says why; the person's
    ``retry_refund`` (the cause was fixed) or ``write_off`` (settled outside) ends it.
    """

    @workflow.init
    def __init__(self, order: SmallOrder) -> None:
        self.order = order
        self.plan = FaultPlan.parse(order.faults)
        self.waiting_for: str | None = None
        self.outcome: str | None = None

    @workflow.run
    async def run(self, order: SmallOrder) -> str:
        key = workflow.info().workflow_id
        await workflow.execute_activity_method(
            PaymentActivities.charge,
            ChargeInput(order.order_id, order.amount, f"{key}:charge", self.plan.for_step("charge")),
            **CALL,
        )
        try:
            await workflow.execute_activity_method(
                ShippingActivities.create_shipment,
                CreateShipmentInput(order.order_id, f"{key}:create_shipment", self.plan.for_step("create_shipment")),
                **CALL,
            )
            return "COMPLETED"
        except ActivityError:
            pass  # shipping refused: undo the charge
        try:
            await self._refund(self.plan.for_step("refund"))
            return "COMPENSATED"
        except ActivityError as failed:
            self.waiting_for = f"the refund failed for good: {root_message(failed)}"
        await workflow.wait_condition(lambda: self.outcome is not None and workflow.all_handlers_finished())
        return self.outcome or ""

    async def _refund(self, fault: Any) -> None:
        await workflow.execute_activity_method(
            PaymentActivities.refund,
            RefundInput(self.order.order_id, f"{workflow.info().workflow_id}:refund", fault),
            **CALL,
        )

    @workflow.query
    def needs_a_person(self) -> str | None:
        """Why the saga waits for a person (None: it does not)."""
        return self.waiting_for

    @workflow.update
    async def retry_refund(self, note: str) -> str:
        """The person fixed the cause (``note`` says how): refund again; answers what happened."""
        try:
            await self._refund(None)
        except ActivityError as failed:
            self.waiting_for = f"the refund failed again: {root_message(failed)}"
            return self.waiting_for
        self.waiting_for, self.outcome = None, f"COMPENSATED: refunded again by a person ({note})"
        return "refunded"

    @workflow.update
    def write_off(self, note: str) -> str:
        """The person settled it outside the saga (``note`` says how); the charge stays."""
        self.waiting_for, self.outcome = None, f"WRITTEN OFF by a person ({note})"
        return "written off"

    @retry_refund.validator
    def _retry_only_when_waiting(self, note: str) -> None:
        self._only_when_waiting()

    @write_off.validator
    def _write_off_only_when_waiting(self, note: str) -> None:
        self._only_when_waiting()

    def _only_when_waiting(self) -> None:
        if self.waiting_for is None:
            raise ValueError("this saga does not wait for a person")


def person_worker(client: Client) -> KernelWorker:
    """A worker for :class:`AskAPersonWorkflow` and the services' activities, on a task queue of its own."""
    faults = CountingFaults()
    queue = task_queue(client, f"nb13-person-{uuid.uuid4().hex[:6]}")
    return KernelWorker(client, queue, [AskAPersonWorkflow], service_activity_list(faults), faults)
