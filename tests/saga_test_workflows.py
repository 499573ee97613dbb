"""Test workflows and activities for ``tests/test_saga.py``.

They live in a real module because the workflow sandbox re-imports a workflow's
module by name: workflows defined in ``__main__`` or a notebook fail validation.
``saga_lab.saga`` is deliberately *not* passed through, so importing it inside the
sandbox is part of what the tests check.

The activities do nothing but append to :data:`CALLS`, an in-memory recorder that
isolates the Saga from the real payment/order/shipping services.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from saga_lab.saga import Saga

#: One dict per activity attempt: workflow_id, kind, name, attempt, start, end, outcome.
CALLS: list[dict[str, Any]] = []


def _record(kind: str, name: str) -> dict[str, Any]:
    info = activity.info()
    entry = {
        "workflow_id": info.workflow_id,
        "kind": kind,
        "name": name,
        "attempt": info.attempt,
        "start": time.monotonic(),
        "end": None,
        "outcome": None,
    }
    CALLS.append(entry)
    return entry


# ----------------------------------------------------------------- activities


@activity.defn
async def do_step(name: str, fail: bool) -> str:
    """A forward step; ``fail`` makes it fail for good (a business failure)."""
    entry = _record("action", name)
    entry["end"] = time.monotonic()
    if fail:
        entry["outcome"] = "failed"
        raise ApplicationError(f"{name} rejected", type="StepRejected", non_retryable=True)
    entry["outcome"] = "ok"
    return name


@activity.defn
async def undo_step(name: str, mode: str, sleep_s: float) -> None:
    """A compensation. mode: "ok", "fail" (non-retryable), "transient" (fails attempts 1-2)."""
    entry = _record("undo", name)
    if sleep_s:
        await asyncio.sleep(sleep_s)
    entry["end"] = time.monotonic()
    if mode == "fail":
        entry["outcome"] = "failed"
        raise ApplicationError(f"{name}: refund service said no", type="UndoRejected", non_retryable=True)
    if mode == "transient" and activity.info().attempt < 3:
        entry["outcome"] = "failed"
        raise ApplicationError(f"{name}: temporarily unavailable", type="Unavailable")
    entry["outcome"] = "ok"


@activity.defn
async def block_until_cancelled(name: str) -> None:
    """Heartbeats until the workflow cancels it (heartbeats deliver the cancel)."""
    entry = _record("block", name)
    try:
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except asyncio.CancelledError:
        entry["end"] = time.monotonic()
        entry["outcome"] = "cancelled"
        raise


ACTIVITIES = [do_step, undo_step, block_until_cancelled]

_STEP_TIMEOUT = timedelta(seconds=10)


async def _step(name: str, fail: bool = False) -> str:
    return await workflow.execute_activity(
        do_step,
        args=[name, fail],
        start_to_close_timeout=_STEP_TIMEOUT,
        retry_policy=RetryPolicy(maximum_attempts=1),
    )


async def _undo(name: str, mode: str = "ok", sleep_s: float = 0.0) -> None:
    await workflow.execute_activity(
        undo_step,
        args=[name, mode, sleep_s],
        start_to_close_timeout=_STEP_TIMEOUT,
        retry_policy=RetryPolicy(
            initial_interval=timedelta(milliseconds=50), backoff_coefficient=1.0, maximum_attempts=5
        ),
    )


# ------------------------------------------------------------------ workflows


@dataclass
class Plan:
    """Steps step1..stepN, each compensated by undo1..undoN once it succeeded."""

    steps: int = 3
    fail_step: int | None = None
    undo_modes: dict[str, str] = field(default_factory=dict)
    undo_sleep_s: float = 0.0
    parallel: bool = False
    continue_with_error: bool = True


@workflow.defn
class SagaWorkflow:
    """Runs a :class:`Plan`; a failed step is reported in the result after compensation."""

    @workflow.run
    async def run(self, plan: Plan) -> dict[str, Any]:
        saga = Saga(parallel_compensation=plan.parallel, continue_with_error=plan.continue_with_error)
        completed: list[str] = []
        failed: str | None = None
        try:
            async with saga:
                for i in range(1, plan.steps + 1):
                    await _step(f"step{i}", fail=(i == plan.fail_step))
                    completed.append(f"step{i}")
                    undo = f"undo{i}"
                    saga.add_compensation(undo, _undo, undo, plan.undo_modes.get(undo, "ok"), plan.undo_sleep_s)
        except ActivityError as err:
            # Business failure of a step: compensated, reported. CompensationFailed is
            # not an ActivityError, so it still fails the workflow.
            failed = getattr(err.cause, "message", str(err))
        return {
            "completed": completed,
            "failed": failed,
            "compensated": saga.compensated,
            "records": [asdict(r) for r in saga.records],
        }


@workflow.defn
class CancellableSagaWorkflow:
    """Two steps, then parks on an activity, a 30-day timer or a condition until cancelled."""

    def __init__(self) -> None:
        self.saga = Saga()
        self.stage = "starting"
        self.released = False

    @workflow.run
    async def run(self, wait: str) -> str:
        async with self.saga:
            for i in (1, 2):
                await _step(f"step{i}")
                self.saga.add_compensation(f"undo{i}", _undo, f"undo{i}")
            self.stage = "waiting"
            if wait == "activity":
                await workflow.execute_activity(
                    block_until_cancelled,
                    "step3",
                    start_to_close_timeout=timedelta(hours=1),
                    heartbeat_timeout=timedelta(seconds=1),
                )
            elif wait == "timer":
                await workflow.sleep(timedelta(days=30))
            elif wait == "condition":
                await workflow.wait_condition(lambda: self.released)
            else:
                raise ApplicationError(f"unknown wait {wait!r}", non_retryable=True)
        self.stage = "done"
        return self.stage

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "compensation_started": self.saga.compensation_started,
            "compensating": self.saga.compensating,
            "compensated": self.saga.compensated,
            "pending": self.saga.pending,
        }


@workflow.defn
class NaiveSagaWorkflow:
    """The pattern from many samples: ``except Exception`` -- blind to a cancelled timer."""

    def __init__(self) -> None:
        self.stage = "starting"

    @workflow.run
    async def run(self) -> str:
        saga = Saga()
        try:
            for i in (1, 2):
                await _step(f"step{i}")
                saga.add_compensation(f"undo{i}", _undo, f"undo{i}")
            self.stage = "waiting"
            await workflow.sleep(timedelta(days=30))
        except Exception:
            await saga.compensate()
            raise
        return "done"

    @workflow.query
    def progress(self) -> dict[str, Any]:
        return {"stage": self.stage}


@workflow.defn
class BuggySagaWorkflow:
    """One step, then a bug (a ``TypeError``) inside ``async with saga``: nothing may be undone for it."""

    @workflow.run
    async def run(self, order: str) -> str:
        saga = Saga()
        async with saga:
            await _step("step1")
            saga.add_compensation("undo1", _undo, "undo1")
            return "charged " + len(order)  # type: ignore[operator]  # the bug: str + int


@workflow.defn
class ContinuingSagaWorkflow:
    """One step, then continue-as-new inside ``async with saga``: a new run, nothing undone."""

    @workflow.run
    async def run(self, generation: int) -> int:
        saga = Saga()
        async with saga:
            if generation == 0:
                await _step("step1")
                saga.add_compensation("undo1", _undo, "undo1")
                workflow.continue_as_new(1)
        return generation


@workflow.defn
class DeclaredStopSagaWorkflow:
    """One step, then the workflow's own business exception (declared with ``compensate_on``), reported."""

    @workflow.run
    async def run(self, kind: str) -> dict[str, Any]:
        saga = Saga(compensate_on=(OrderWithdrawn,))
        try:
            async with saga:
                await _step("step1")
                saga.add_compensation("undo1", _undo, name="undo1")  # keyword arguments reach the call
                if kind == "declared":
                    raise OrderWithdrawn("the customer withdrew the order")
                await workflow.wait_condition(lambda: False, timeout=timedelta(seconds=5))  # a TimeoutError
        except (OrderWithdrawn, TimeoutError) as err:
            return {"stopped": type(err).__name__, "compensated": saga.compensated}
        return {"stopped": None, "compensated": saga.compensated}


class OrderWithdrawn(Exception):
    """A business exception of the workflow's own, not a Temporal failure."""


WORKFLOWS = [
    SagaWorkflow,
    CancellableSagaWorkflow,
    NaiveSagaWorkflow,
    BuggySagaWorkflow,
    ContinuingSagaWorkflow,
    DeclaredStopSagaWorkflow,
]
