"""A worker that runs in the notebook's kernel next to the lab's own, and knows when its activities are done.

A ``timeout`` fault's attempt keeps running after Temporal gave up on it, and its late reply
logs one line when it arrives. :meth:`KernelWorker.settled` waits for those attempts, so a
cell (or a check) ends after the line it caused, not in the middle of the next cell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from saga_lab.config import SERVICES
from saga_lab.faults import FaultInjector
from saga_lab.services import open_services
from saga_lab.worker import activity_executor, service_activities


class CountingFaults(FaultInjector):
    """A :class:`~saga_lab.faults.FaultInjector` that counts the attempts still running."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0

    def run(self, step: str, fault: Any, work: Callable[..., Any], *args: Any) -> Any:
        with self._lock:
            self.in_flight += 1
        try:
            return super().run(step, fault, work, *args)
        finally:
            with self._lock:
                self.in_flight -= 1


def service_activity_list(faults: FaultInjector) -> list[Callable[..., Any]]:
    """The six activities of the three services (steps and undos), on the lab's databases."""
    stores = open_services()
    return [fn for name in SERVICES if name != "workflow" for fn in service_activities(name, stores, faults)]


class KernelWorker:
    """One worker on ``task_queue`` for ``workflows`` and ``activities``, run as an asyncio task.

    ``async with KernelWorker(...) as worker:`` or ``await worker.start()`` / ``await worker.stop()``.
    """

    def __init__(
        self,
        client: Client,
        task_queue: str,
        workflows: Sequence[type],
        activities: Sequence[Callable[..., Any]],
        faults: CountingFaults,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.faults = faults
        self.worker = Worker(
            client,
            task_queue=task_queue,
            workflows=list(workflows),
            activities=list(activities),
            activity_executor=activity_executor(),  # the services' activities are plain ``def``
            graceful_shutdown_timeout=timedelta(seconds=0),
        )
        self._task: asyncio.Task | None = None

    async def start(self) -> KernelWorker:
        if self._task is None:
            self._task = asyncio.create_task(self.worker.run())
            await asyncio.sleep(0)
        return self

    async def settled(self, timeout_s: float = 10.0) -> None:
        """Until no attempt of this worker's activities is running (at most ``timeout_s``)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.faults.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        await self.settled()
        await self.worker.shutdown()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def __aenter__(self) -> KernelWorker:
        return await self.start()

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()
