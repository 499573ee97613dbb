# PASS: the keys made up front in a dict, typed calls, a policy that names the business errors, longer timeouts
"""Exercise 03, right, another style: keys ``<workflow id>-<step>`` made once, the services' list of business errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.config import TASK_QUEUES
    from saga_lab.models import COMPLETED, ChargeInput, CreateOrderInput, CreateShipmentInput, OrderResult
    from saga_lab.services.errors import NON_RETRYABLE_ERROR_TYPES


@dataclass
class StepsInput:
    order_id: str
    amount: int
    task_queues: dict[str, str] = field(default_factory=lambda: dict(TASK_QUEUES))


@workflow.defn
class ForwardStepsWorkflow:
    @workflow.run
    async def run(self, order: StepsInput) -> OrderResult:
        wid = workflow.info().workflow_id
        keys = {step: f"{wid}-{step}" for step in ("charge", "create_order", "create_shipment")}
        timeout = timedelta(seconds=5)
        never_twice = RetryPolicy(non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES))
        payment_id = await workflow.execute_activity_method(
            PaymentActivities.charge,
            ChargeInput(order.order_id, order.amount, keys["charge"]),
            task_queue=order.task_queues["payment"],
            start_to_close_timeout=timeout,
            retry_policy=never_twice,
        )
        await workflow.execute_activity_method(
            OrderActivities.create_order,
            CreateOrderInput(order.order_id, order.amount, keys["create_order"]),
            task_queue=order.task_queues["order"],
            start_to_close_timeout=timeout,
            retry_policy=never_twice,
        )
        shipment_id = await workflow.execute_activity_method(
            ShippingActivities.create_shipment,
            CreateShipmentInput(order.order_id, keys["create_shipment"]),
            task_queue=order.task_queues["shipping"],
            start_to_close_timeout=timeout,
            retry_policy=never_twice,
        )
        return OrderResult(order.order_id, COMPLETED, payment_id=payment_id, shipment_id=shipment_id)
