"""Exercise 03 · the saga's forward steps, written by you in plain temporalio.

Write the happy path of an order workflow: charge the customer, create the order, book
the shipment. Each step is one activity call on its own service's task queue, with a
timeout per attempt and a retry policy, and takes an idempotency key that names this
order's step (the same on every attempt, as in notebook 02). A step that fails for good
fails the run: there is no compensation yet (that is notebook 05).

The check starts the three services' real activity workers (the ones OrderSagaWorkflow
uses) and a worker for this workflow, each on a task queue of its own, and passes their
names in ``StepsInput.task_queues``. It places a plain order, one whose first charge
reply is lost (the payment is made, the reply never arrives) and one whose card is
declined, runs the plain order a second time (as a reset would), then reads the three
services' databases and each run's history.

Fill in the TODOs, save the file, and run the check cell of notebook 03 again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    # Data classes, activity definitions and policies: the sandbox may take them as they are.
    from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities  # noqa: F401
    from saga_lab.config import TASK_QUEUES
    from saga_lab.models import COMPLETED, ChargeInput, CreateOrderInput, CreateShipmentInput, OrderResult  # noqa: F401
    from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT  # noqa: F401


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
        # TODO 1: charge the customer, on the payment service's task queue, with a timeout per
        #         attempt and a retry policy. A retry of this step, or a second run of this
        #         order, must never charge twice. Keep the payment id in result.payment_id.
        # TODO 2: create the order, on the order service's task queue.
        # TODO 3: book the shipment, on the shipping service's task queue; keep its id in
        #         result.shipment_id.
        return result
