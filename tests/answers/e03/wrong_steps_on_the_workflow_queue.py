# NOT YET naming "where no worker has picked it up": the steps go to the workflow's own task queue
"""Exercise 03, wrong: no ``task_queue``, so each step waits on the workflow's queue, where no worker runs it."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # Data classes, activity definitions and policies: the sandbox may take them as they are.
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.config import TASK_QUEUES
    from saga_lab.models import COMPLETED, ChargeInput, CreateOrderInput, CreateShipmentInput, OrderResult
    from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT


@dataclass
class StepsInput:
    order_id: str
    amount: int
    #: The task queue of each service's worker, by service: "payment", "order", "shipping".
    task_queues: dict[str, str] = field(default_factory=lambda: dict(TASK_QUEUES))


@workflow.defn
class ForwardStepsWorkflow:
    @workflow.run
    async def run(self, order: StepsInput) -> OrderResult:
        result = OrderResult(order_id=order.order_id, status=COMPLETED)
        result.payment_id = await workflow.execute_activity_method(
            PaymentActivities.charge,
            ChargeInput(order.order_id, order.amount, self._key("charge")),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        await workflow.execute_activity_method(
            OrderActivities.create_order,
            CreateOrderInput(order.order_id, order.amount, self._key("create_order")),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        result.shipment_id = await workflow.execute_activity_method(
            ShippingActivities.create_shipment,
            CreateShipmentInput(order.order_id, self._key("create_shipment")),
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        return result

    @staticmethod
    def _key(step: str) -> str:
        """This order's step: a retry sends the same key, so the service does the work once."""
        return f"{workflow.info().workflow_id}:{step}"
