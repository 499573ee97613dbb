"""Exercise 03 · the saga's forward steps in plain temporalio, solved.

Three typed activity calls, each on its service's task queue, with the lab's step
timeout and retry policy (a few quick retries, none for a business error), and an
idempotency key ``<workflow id>:<step>`` that is the same on every attempt. A step that
fails for good fails the run: there is no compensation yet (that is notebook 05).
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # Data classes, activity definitions and policies: the sandbox may take them as they are.
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
    from saga_lab.models import COMPLETED, ChargeInput, CreateOrderInput, CreateShipmentInput, OrderResult
    from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT


@dataclass
class StepsInput:
    order_id: str
    amount: int
    #: The task queue of each service's worker, by service: "payment", "order", "shipping".
    #: No default: whoever starts the run names them, with saga_lab.connection.task_queue.
    task_queues: dict[str, str]


@workflow.defn
class ForwardStepsWorkflow:
    @workflow.run
    async def run(self, order: StepsInput) -> OrderResult:
        result = OrderResult(order_id=order.order_id, status=COMPLETED)
        result.payment_id = await workflow.execute_activity_method(
            PaymentActivities.charge,
            ChargeInput(order.order_id, order.amount, self._key("charge")),
            task_queue=order.task_queues["payment"],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        await workflow.execute_activity_method(
            OrderActivities.create_order,
            CreateOrderInput(order.order_id, order.amount, self._key("create_order")),
            task_queue=order.task_queues["order"],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        result.shipment_id = await workflow.execute_activity_method(
            ShippingActivities.create_shipment,
            CreateShipmentInput(order.order_id, self._key("create_shipment")),
            task_queue=order.task_queues["shipping"],
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        return result

    @staticmethod
    def _key(step: str) -> str:
        """This order's step: a retry sends the same key, so the service does the work once."""
        return f"{workflow.info().workflow_id}:{step}"
