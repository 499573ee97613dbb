"""A small saga with a line a typo can break: notebook 05 plants one in a copy, then fixes it.

``python typo_saga.py <task queue> <parent pid>`` runs its worker, the workflow and the four
activities it calls, until it is stopped or its parent process is gone. Notebook 05 runs a
copy of this file as a process of its own (:class:`demos.sagas.PlantedBug`), so that "fix
the file, restart the worker" means just that.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import OrderActivities, PaymentActivities
    from saga_lab.models import CancelOrderInput, ChargeInput, CreateOrderInput, OrderInput, RefundInput
    from saga_lab.saga import Saga

STEP = {"start_to_close_timeout": timedelta(seconds=2)}


@workflow.defn
class TypoSagaWorkflow:
    """Charge, then create the order; undo what was done if a step fails. Returns a receipt."""

    @workflow.run
    async def run(self, order: OrderInput) -> str:
        key, order_id = workflow.info().workflow_id, order.order_id
        saga = Saga()
        async with saga:
            charge = ChargeInput(order_id, order.amount, f"{key}:charge")
            await workflow.execute_activity_method(PaymentActivities.charge, charge, **STEP)
            refund = RefundInput(order_id, f"{key}:refund")
            saga.add_compensation("refund", workflow.execute_activity_method, PaymentActivities.refund, refund, **STEP)
            receipt = f"charged {order.amount} cents for {order_id}"
            cancel = CancelOrderInput(order_id, f"{key}:cancel_order")
            saga.add_compensation(
                "cancel_order", workflow.execute_activity_method, OrderActivities.cancel_order, cancel, **STEP
            )
            create = CreateOrderInput(order_id, order.amount, f"{key}:create_order")
            await workflow.execute_activity_method(OrderActivities.create_order, create, **STEP)
        return receipt


async def main(task_queue: str, parent: int) -> None:
    from temporalio.worker import Worker

    from saga_lab import connection
    from saga_lab.services import open_services
    from saga_lab.worker import activity_executor

    client = await connection.connect(connection.ensure_server())
    services = open_services()
    payments, orders = PaymentActivities(services.payment), OrderActivities(services.orders)
    worker = Worker(
        client,
        task_queue=task_queue,
        workflows=[TypoSagaWorkflow],
        activities=[payments.charge, payments.refund, orders.create_order, orders.cancel_order],
        activity_executor=activity_executor(),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),  # a restarted worker takes over at once
    )
    running = asyncio.create_task(worker.run())
    while not running.done() and os.getppid() == parent:  # end with the kernel that started it
        await asyncio.sleep(0.5)
    await worker.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
