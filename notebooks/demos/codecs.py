"""Notebook 13's encrypted orders: the order saga on workers whose client encrypts every payload.

A worker decodes what it reads with its client's data converter, so a saga started by an
encrypting client needs workers with the same codec: a worker without it cannot read the
order. :class:`SecretOrders` runs the lab's four workers (the saga's and the three
services') with such a client, on task queues of their own, and places orders there.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from temporalio.client import Client

from saga_lab.config import SERVICES
from saga_lab.connection import task_queue, workflow_id
from saga_lab.faults import FaultPlan
from saga_lab.models import OrderInput, OrderResult
from saga_lab.services import open_services
from saga_lab.worker import service_activities
from saga_lab.workflows import WORKFLOWS, OrderSagaWorkflow

from .workers import CountingFaults, KernelWorker


class SecretOrders:
    """``async with SecretOrders(client):`` four workers with ``client``'s codec; :meth:`place` runs one saga."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.run = f"nb13-secret-{uuid.uuid4().hex[:6]}"  # this demo's own set of the services' queues
        stores, faults = open_services(), CountingFaults()

        def worker(name: str) -> KernelWorker:
            if name == "workflow":
                return KernelWorker(client, task_queue(client, name, run=self.run), WORKFLOWS, [], faults)
            activities = service_activities(name, stores, faults)
            return KernelWorker(client, task_queue(client, name, run=self.run), [], activities, faults)

        self.workers = [worker(name) for name in SERVICES]

    async def place(self, order_id: str, amount: int, faults: list[str] = ()) -> OrderResult:
        """Run the order saga for ``order_id`` to its end; its result, decoded by this client."""
        return await self.client.execute_workflow(
            OrderSagaWorkflow.run,
            OrderInput(order_id, amount, FaultPlan.parse(list(faults))),
            id=workflow_id(self.client, order_id),
            task_queue=task_queue(self.client, "workflow", run=self.run),
            result_type=OrderResult,
        )

    async def __aenter__(self) -> SecretOrders:
        for worker in self.workers:
            await worker.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await asyncio.gather(*(worker.stop() for worker in self.workers))
