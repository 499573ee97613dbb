"""Workers: one per service task queue, one for the workflows.

``saga-lab worker --service payment`` runs one of them as its own OS process, as in
production; :class:`BackgroundWorkers` runs them inside a notebook kernel (or the
CLI) as asyncio tasks and stops them cleanly. The services' activities are plain
``def`` (SQLite blocks): a service worker runs them on :func:`~saga_lab.activities.activity_executor`'s threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from .activities import (
    ACTIVITY_SLOTS,
    OrderActivities,
    PaymentActivities,
    ShippingActivities,
    activity_executor,
    compose_greeting,
)
from .config import SERVICES
from .connection import task_queue
from .faults import FaultInjector
from .services import Services, open_services
from .workflows import WORKFLOWS


def build_workers(
    client: Client,
    services: tuple[str, ...] = SERVICES,
    home: Path | None = None,
    *,
    faults: FaultInjector | None = None,
    stores: Services | None = None,
    **worker_options: Any,
) -> list[Worker]:
    """The workers for ``services``, each polling its own (learner's) task queue.

    Activities get ``stores`` (default: the three services opened under ``home``) and
    ``faults`` (default: a fresh :class:`~saga_lab.faults.FaultInjector`); ``worker_options``
    go to every ``Worker`` (e.g. ``sticky_queue_schedule_to_start_timeout``).
    """
    unknown = [name for name in services if name not in SERVICES]
    if unknown:
        raise ValueError(f"unknown service {unknown[0]!r}: use one of {', '.join(SERVICES)} or all")
    stores = stores or open_services(home)
    faults = faults or FaultInjector()
    options = {"graceful_shutdown_timeout": timedelta(seconds=0), **worker_options}
    workers = []
    for name in services:
        if name == "workflow":
            workers.append(
                Worker(
                    client,
                    task_queue=task_queue(client, name),
                    workflows=WORKFLOWS,
                    activities=[compose_greeting],
                    **options,
                )
            )
        else:
            activities = service_activities(name, stores, faults)
            workers.append(
                Worker(
                    client,
                    task_queue=task_queue(client, name),
                    activities=activities,
                    activity_executor=activity_executor(),
                    max_concurrent_activities=ACTIVITY_SLOTS,
                    **options,
                )
            )
    return workers


def service_activities(name: str, stores: Services, faults: FaultInjector) -> list:
    """The activity methods one service's worker runs."""
    if name == "payment":
        payment = PaymentActivities(stores.payment, faults)
        return [payment.charge, payment.refund]
    if name == "order":
        orders = OrderActivities(stores.orders, faults)
        return [orders.create_order, orders.cancel_order]
    shipping = ShippingActivities(stores.shipping, faults)
    return [shipping.create_shipment, shipping.cancel_shipment]


class _OneLineFailures(logging.Filter):
    """An activity failure is expected here (faults are injected): say it in one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            err = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(err).__name__}: {err}"
            record.args, record.exc_info, record.exc_text = (), None, None
        return True


def tidy_activity_logs(level: int = logging.WARNING) -> None:
    """Log each failed activity attempt as one line (``level`` ERROR hides them)."""
    logger = logging.getLogger("temporalio.activity")
    logger.setLevel(level)
    if not any(isinstance(f, _OneLineFailures) for f in logger.filters):
        logger.addFilter(_OneLineFailures())


class BackgroundWorkers:
    """Workers running as asyncio tasks in this process (a notebook kernel or the CLI).

    Use ``async with BackgroundWorkers(client):`` or ``start()`` / ``stop()``. ``worker_options`` are
    :func:`build_workers`'s: ``stores=`` (other services than the ones under ``home``) and
    any ``Worker`` option.
    """

    def __init__(
        self,
        client: Client,
        services: tuple[str, ...] = SERVICES,
        home: Path | None = None,
        *,
        faults: FaultInjector | None = None,
        **worker_options: Any,
    ) -> None:
        self.client = client
        self.services = services
        self.home = home
        self.faults = faults or FaultInjector()
        self.worker_options = worker_options
        self._workers: list[Worker] = []
        self._tasks: list[asyncio.Task] = []

    @property
    def running(self) -> bool:
        return any(not task.done() for task in self._tasks)

    async def start(self) -> BackgroundWorkers:
        if self.running:
            return self
        tidy_activity_logs(logging.getLogger("temporalio.activity").level or logging.WARNING)
        self._workers = build_workers(self.client, self.services, self.home, faults=self.faults, **self.worker_options)
        # Each worker runs in a context of its own, not a copy of the cell that started it:
        # in a Jupyter kernel, what a task prints then lands under the cell running now
        # (ipykernel routes output by the context's parent cell, falling back to the latest).
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(worker.run(), context=contextvars.Context()) for worker in self._workers]
        await asyncio.sleep(0)
        return self

    async def stop(self) -> None:
        """Stop polling and wait for the workers to finish (activities in flight are cancelled)."""
        await asyncio.gather(*(worker.shutdown() for worker in self._workers), return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._workers, self._tasks = [], []

    async def wait(self) -> None:
        """Until every worker has stopped (they stop on :meth:`stop`, or when the server goes away for good)."""
        await asyncio.gather(*self._tasks)

    async def __aenter__(self) -> BackgroundWorkers:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<BackgroundWorkers {', '.join(self.services)}: {state}>"


async def run_workers(
    client: Client,
    services: tuple[str, ...] = SERVICES,
    home: Path | None = None,
    *,
    faults: FaultInjector | None = None,
    **worker_options: Any,
) -> None:
    """Run workers until cancelled (Ctrl-C in ``saga-lab worker``)."""
    async with BackgroundWorkers(client, services, home, faults=faults, **worker_options) as workers:
        await workers.wait()
