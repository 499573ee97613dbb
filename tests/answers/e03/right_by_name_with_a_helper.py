# PASS: one helper for the three steps, activities called by name, a policy of its own, schedule-to-close budgets
"""Exercise 03, right, another style: `execute_activity` by name, keys from the order id, a policy written out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from saga_lab.config import TASK_QUEUES
    from saga_lab.models import COMPLETED, ChargeInput, CreateOrderInput, CreateShipmentInput, OrderResult

POLICY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_attempts=4,
    non_retryable_error_types=["PaymentDeclined", "OrderRejected", "ShipmentRejected"],
)


@dataclass
class StepsInput:
    order_id: str
    amount: int
    task_queues: dict[str, str] = field(default_factory=lambda: dict(TASK_QUEUES))


@workflow.defn
class ForwardStepsWorkflow:
    @workflow.run
    async def run(self, order: StepsInput) -> OrderResult:
        oid = order.order_id
        payment_id = await self.step(order, "payment", "charge", ChargeInput(oid, order.amount, f"{oid}/charge"))
        await self.step(order, "order", "create_order", CreateOrderInput(oid, order.amount, f"{oid}/create_order"))
        shipment_id = await self.step(
            order, "shipping", "create_shipment", CreateShipmentInput(oid, f"{oid}/create_shipment")
        )
        return OrderResult(order_id=oid, status=COMPLETED, payment_id=payment_id, shipment_id=shipment_id)

    async def step(self, order: StepsInput, service: str, activity: str, arg: Any) -> Any:
        return await workflow.execute_activity(
            activity,
            arg,
            task_queue=order.task_queues[service],
            schedule_to_close_timeout=timedelta(seconds=12),
            start_to_close_timeout=timedelta(seconds=3),
            retry_policy=POLICY,
            result_type=str if activity != "create_order" else None,
        )
