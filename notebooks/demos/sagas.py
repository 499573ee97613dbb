"""Run a saga you wrote (exercises 05 and 06) once, and read what it left in the three services;
and notebook 05's saga with a planted bug, run by a worker process that can be restarted.

Your workflow runs on a worker of its own, started for the run, which also runs the
three services' six activities (steps and undos) on the lab's databases, all on one
task queue. The checks use the same runner, one order per case.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError

from saga_lab import history
from saga_lab.checkout import end_state, terminate_if_running
from saga_lab.config import COMPENSATIONS
from saga_lab.connection import task_queue, workflow_id
from saga_lab.faults import FaultPlan
from saga_lab.models import OrderInput

from .workers import CountingFaults, KernelWorker, service_activity_list

AMOUNT = 4999
#: A run that has not ended after this long is reported as RUNNING (and terminated).
LIMIT_S = 20.0


@dataclass
class SagaRun:
    """How one run ended and what it left behind."""

    faults: list[str]
    #: COMPLETED, FAILED, CANCELED, RUNNING (had not ended at the limit), or BROKEN (the
    #: workflow's own code raised an error in the worker: its task failed, and the run, which
    #: would wait for a fix, was stopped by this runner).
    ended: str
    #: Every activity the workflow scheduled, in order (steps, then undos).
    activities: list[str]
    #: :func:`saga_lab.checkout.end_state`: the three services' state and whether they agree.
    state: dict = field(default_factory=dict)
    #: When ``ended`` is BROKEN: the error the workflow's code raised in the worker.
    error: str | None = None

    @property
    def fault(self) -> str:
        return ", ".join(self.faults) or "no fault"

    @property
    def undone(self) -> list[str]:
        """The undos that ran, in the order they were scheduled."""
        return [name for name in self.activities if name in COMPENSATIONS]

    def row(self) -> dict:
        """One row for a :class:`~saga_lab.notebook.Table`: the faults, the activities run, the services' state."""
        return {"faults": self.fault, "activities": ", ".join(self.activities), **self.state}

    def leftovers(self) -> list[str]:
        """What a failed order still holds, in words (empty when nothing is left)."""
        found = []
        if (self.state.get("net") or 0) > 0:
            found.append(f"the customer is still charged {self.state['net']}")
        if self.state.get("order") == "ACTIVE":
            found.append("the order is still ACTIVE")
        if self.state.get("shipment") == "CREATED":
            found.append("a shipment is still booked")
        return found


def practice_worker(client: Client, workflow_cls: type, name: str) -> KernelWorker:
    """A worker for ``workflow_cls`` and the six service activities, on a fresh task queue."""
    faults = CountingFaults()
    queue = task_queue(client, f"{name}-{uuid.uuid4().hex[:6]}")
    return KernelWorker(client, queue, [workflow_cls], service_activity_list(faults), faults)


async def _end(handle: WorkflowHandle) -> tuple[str, str | None]:
    """How the run ended; a run whose workflow code keeps failing in the worker is stopped and said so."""
    deadline = asyncio.get_running_loop().time() + LIMIT_S
    result = asyncio.ensure_future(handle.result())
    while not (await asyncio.wait({result}, timeout=0.5))[0]:
        facts = history.facts(await handle.fetch_history())
        broken = facts.task_failures  # a deadlock alone may be a busy machine: its next try can go on
        stop = facts.surely_broken or asyncio.get_running_loop().time() > deadline
        if stop and await terminate_if_running(handle, "stopped by the exercise's runner"):  # else: it just ended
            result.cancel()
            await asyncio.gather(result, return_exceptions=True)
            return ("BROKEN", broken[-1].failure or broken[-1].reason) if broken else ("RUNNING", None)
    failure = result.exception()
    if failure is None:
        return "COMPLETED", None
    if isinstance(failure, WorkflowFailureError) and isinstance(failure.cause, CancelledError):
        return "CANCELED", None
    if isinstance(failure, WorkflowFailureError):
        return "FAILED", None
    raise failure


async def run_on(worker: KernelWorker, workflow_cls: type, order_id: str, faults: list[str]) -> SagaRun:
    """Run ``workflow_cls`` for one order of 49.99 with ``faults``, on a running ``worker``."""
    client = worker.client
    order = OrderInput(order_id, AMOUNT, FaultPlan.parse(faults))
    handle = await client.start_workflow(
        workflow_cls.run, order, id=workflow_id(client, order_id), task_queue=worker.task_queue
    )
    ended, error = await _end(handle)
    names = [run.name for run in history.activities(await handle.fetch_history())]
    return SagaRun(list(faults), ended, names, await end_state(client, order_id), error)


async def run_practice(client: Client, workflow_cls: type, order_id: str, faults: list[str]) -> SagaRun:
    """Run your saga once for ``order_id``, on a worker started for this run."""
    async with practice_worker(client, workflow_cls, order_id) as worker:
        run = await run_on(worker, workflow_cls, order_id, faults)
    return run


# ---------------------------------------------------------------- a bug is not a failure (notebook 05)

#: The saga whose copy gets the typo, and the typo: the receipt line as written, and as mistyped.
TYPO_SAGA = Path(__file__).with_name("typo_saga.py")
TYPO = (
    'receipt = f"charged {order.amount} cents for {order_id}"',
    'receipt = "charged " + order.amount + " cents for " + order_id',
)


class PlantedBug:
    """``typo_saga.py`` copied to a folder of its own with a typo planted in it, and the worker
    process that runs the copy. :meth:`fix` writes the line as it should be."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.folder = Path(tempfile.mkdtemp(prefix="nb05-typo-"))
        self.file = self.folder / TYPO_SAGA.name
        self.task_queue = task_queue(client, f"nb05-typo-{uuid.uuid4().hex[:6]}")
        self.worker: subprocess.Popen | None = None
        source = TYPO_SAGA.read_text()
        assert TYPO[0] in source, f"{TYPO_SAGA.name} no longer has the receipt line"
        self.file.write_text(source.replace(*TYPO))

    @property
    def line(self) -> str:
        """The receipt line, as it is in the copy now."""
        return next(line.strip() for line in self.file.read_text().splitlines() if "receipt = " in line)

    def fix(self) -> None:
        self.file.write_text(TYPO_SAGA.read_text())

    def start_worker(self) -> None:
        """The copy's worker, as a process of its own (its output in ``worker.log`` beside the copy)."""
        with open(self.folder / "worker.log", "ab") as log:
            self.worker = subprocess.Popen(
                [sys.executable, self.file.name, self.task_queue, str(os.getpid())],
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # interrupting the kernel does not stop it
            )

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                self.worker.wait(5)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        self.worker = None

    def restart_worker(self) -> None:
        self.stop_worker()
        self.start_worker()

    async def start(self, order_id: str, amount: int = AMOUNT) -> WorkflowHandle:
        """Start the saga for one order (by its type's name: the code is the copy's), on the copy's worker."""
        return await self.client.start_workflow(
            "TypoSagaWorkflow",
            OrderInput(order_id, amount),
            id=workflow_id(self.client, order_id),
            task_queue=self.task_queue,
            result_type=str,
        )

    async def task_failure(self, handle: WorkflowHandle, timeout_s: float = LIMIT_S) -> str:
        """The message of the run's first failed workflow task, once there is one."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            failed = history.facts(await handle.fetch_history()).task_failures
            if failed:
                return failed[0].failure or failed[0].reason
            await asyncio.sleep(0.2)
        raise TimeoutError(f"no workflow task of {handle.id} failed within {timeout_s:g} s")

    def close(self) -> None:
        """Stop the worker process and remove the copy."""
        self.stop_worker()
        shutil.rmtree(self.folder, ignore_errors=True)
