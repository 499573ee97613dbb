"""A cancellation-safe Saga (compensation) helper for Temporal Python workflows.

Usage inside a workflow run method::

    saga = Saga()
    async with saga:  # compensates on ANY exception, workflow cancellation included
        await workflow.execute_activity_method(Payment.charge, order, **step)
        saga.add_compensation("refund", workflow.execute_activity_method, Payment.refund, order, **undo)
        # registered BEFORE the action: a create that timed out may still have happened
        saga.add_compensation("cancel_order", workflow.execute_activity_method, Orders.cancel, order, **undo)
        await workflow.execute_activity_method(Orders.create, order, **step)
        await workflow.execute_activity_method(Shipping.ship, order, **step)
    # if anything above failed or was cancelled: cancel_order then refund ran, and the
    # original exception propagates (FAILED stays FAILED, CANCELED stays CANCELED)

It is modelled on Java's ``io.temporal.workflow.Saga`` (the Python SDK has no Saga
class): compensations run in reverse order, optionally in parallel, optionally going on
past a failed one. Where it differs from Java, on purpose:

* ``continue_with_error`` defaults to True (Java: false): one failed undo should not
  leave the others undone.
* A failed compensation raises :class:`CompensationFailed`, listing every
  compensation's record. Java swallows the error with continue-with-error and
  rethrows the compensation's own exception without it.
* :meth:`Saga.compensate` runs the compensations once; a second call awaits the same
  run and returns (or raises) the same outcome. Java runs them all again.
* Parallel compensations are started newest first, like the sequential order (Java
  starts them in registration order). Either way they overlap.
* The ``async with`` form catches ``BaseException`` and shields the compensation
  from cancellation: Java has no equivalent (there the cancel is a
  ``CanceledFailure`` and the caller must run the undo in a detached scope).

Why ``BaseException``: a workflow cancel in the Python SDK is ``Task.cancel()`` on
the main workflow task, so the ``await`` in progress raises ``asyncio.CancelledError``
-- a ``BaseException``. The common ``try: ... except Exception: compensate`` never
sees it when the workflow is parked on a timer (``workflow.sleep``) or on
``workflow.wait_condition``, and the workflow ends CANCELED with nothing undone.
(While awaiting an activity the SDK first requests the activity's cancel and raises
``ActivityError(cause=CancelledError)``, an ``Exception``, so the naive pattern
happens to work there -- which hides the bug.) ``tests/test_saga.py`` proves both.

Findings about running activities after a cancel (SDK 1.35 README "Asyncio
Cancellation" and ``temporalio/worker/_workflow_instance.py``):

* A cancel request is delivered once, as a single ``Task.cancel()`` on the main task
  ("a cancellation request is a state not an event ... repeated cancellation
  requests are not delivered, only the first"). Python has no cancellation scope
  that cancels later work, so after catching the error the workflow may schedule
  new activities, timers and children and they run normally.
* The workflow ends CANCELED only if it finally raises a cancellation
  (``asyncio.CancelledError``, ``temporalio.exceptions.CancelledError`` or an
  ``ActivityError``/``ChildWorkflowError`` caused by one) after a cancel was
  requested; hence ``__aexit__`` re-raises the original exception.
* A ``temporalio.exceptions.FailureError`` (e.g. ``ApplicationError``) fails the
  workflow; any other exception only fails the workflow *task*, which is retried
  forever. Hence :class:`CompensationFailed` is an ``ApplicationError``.
* On cache eviction the SDK cancels every workflow task and any new command raises
  an internal ``BaseException``; compensation steps therefore only record
  ``Exception`` as a failure and let ``BaseException`` through (tested with
  ``max_cached_workflows=0``: compensations still run exactly once, on the real task).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from .failures import root_message

__all__ = ["CompensationFailed", "CompensationRecord", "Saga"]

DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class CompensationRecord:
    """What happened to one compensation: status is "done", "failed" or "skipped"."""

    name: str
    status: str
    error: str | None = None


class CompensationFailed(ApplicationError):
    """At least one compensation failed; the system may be left inconsistent.

    An ``ApplicationError`` (non-retryable, ``type="CompensationFailed"``) so the
    *workflow* fails visibly instead of its task being retried forever. The records
    travel as the error's details, one dict per record, in run order.
    """

    def __init__(self, records: Sequence[CompensationRecord]) -> None:
        self.records: list[CompensationRecord] = list(records)
        failed = [r for r in self.records if r.status == FAILED]
        skipped = [r.name for r in self.records if r.status == SKIPPED]
        message = f"{len(failed)} of {len(self.records)} compensations failed: " + "; ".join(
            f"{r.name} ({r.error})" for r in failed
        )
        if skipped:
            message += f"; skipped: {', '.join(skipped)}"
        super().__init__(
            message,
            *(asdict(r) for r in self.records),
            type="CompensationFailed",
            non_retryable=True,
        )


@dataclass(frozen=True)
class _Compensation:
    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]


class Saga:
    """Registers compensations and runs them in reverse order when the saga fails.

    ``parallel_compensation`` starts every compensation at once (all of them run, so
    ``continue_with_error`` has no effect there); otherwise they run one by one, and
    ``continue_with_error=False`` stops at the first failure and marks the rest
    "skipped", like Java's ``Saga.Options``.
    """

    def __init__(self, *, parallel_compensation: bool = False, continue_with_error: bool = True) -> None:
        self.parallel_compensation = parallel_compensation
        self.continue_with_error = continue_with_error
        self._compensations: list[_Compensation] = []
        self._results: dict[int, CompensationRecord] = {}
        self._compensated: list[str] = []
        self._task: asyncio.Task[list[CompensationRecord]] | None = None

    # ------------------------------------------------------------ registering

    def add_compensation(self, name: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Register ``fn(*args)`` to undo a step.

        Register *before* the action when the action may time out with an unknown
        outcome: the compensation must then be safe to run for a step that never
        happened (idempotent, "nothing to undo" is success).
        """
        if not callable(fn):
            raise TypeError(f"compensation {name!r}: {fn!r} is not callable")
        if self._task is not None:
            # A bug in the workflow, not a business failure: fail the task, not the run.
            raise RuntimeError(f"compensation {name!r} registered after compensation started")
        self._compensations.append(_Compensation(name, fn, args))

    # --------------------------------------------------------------- progress

    @property
    def pending(self) -> list[str]:
        """Registered compensations that have not finished, in registration order."""
        return [c.name for i, c in enumerate(self._compensations) if i not in self._results]

    @property
    def compensated(self) -> list[str]:
        """Compensations that completed, in the order they completed."""
        return list(self._compensated)

    @property
    def records(self) -> list[CompensationRecord]:
        """Finished compensations (done/failed/skipped) in run order: reverse registration."""
        return [self._results[i] for i in reversed(range(len(self._compensations))) if i in self._results]

    @property
    def compensation_started(self) -> bool:
        """True once :meth:`compensate` has been called (stays True)."""
        return self._task is not None

    @property
    def compensating(self) -> bool:
        """True while compensations are running (for a progress query)."""
        return self._task is not None and not self._task.done()

    # ------------------------------------------------------------ compensating

    async def compensate(self) -> list[CompensationRecord]:
        """Run the compensations once and return their records.

        Later calls await the same run and return (or raise) the same outcome. The
        run is a separate task awaited through a shield, so cancelling the caller
        never interrupts a half-done rollback. Raises :class:`CompensationFailed`
        if any compensation failed.
        """
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="saga-compensate")
        return list(await _await_shielded(self._task))

    async def _run(self) -> list[CompensationRecord]:
        order = list(reversed(range(len(self._compensations))))
        if self.parallel_compensation:
            await asyncio.gather(*(self._run_one(i) for i in order))
        else:
            stopped = False
            for i in order:
                if stopped:
                    self._results[i] = CompensationRecord(self._compensations[i].name, SKIPPED)
                elif not await self._run_one(i) and not self.continue_with_error:
                    stopped = True
        records = self.records
        if any(r.status == FAILED for r in records):
            raise CompensationFailed(records)
        return records

    async def _run_one(self, i: int) -> bool:
        comp = self._compensations[i]
        try:
            result = comp.fn(*comp.args)
            if inspect.isawaitable(result):
                await result
        except Exception as err:  # BaseException (eviction, cancel) must propagate
            reason = root_message(err)
            self._results[i] = CompensationRecord(comp.name, FAILED, reason)
            if workflow.in_workflow():  # the helper also runs in plain asyncio (unit tests)
                workflow.logger.warning("compensation %s failed: %s", comp.name, reason)
            return False
        self._results[i] = CompensationRecord(comp.name, DONE)
        self._compensated.append(comp.name)
        return True

    # ------------------------------------------------------- context manager

    async def __aenter__(self) -> Saga:
        return self

    async def __aexit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        """Compensate on any exception, cancellation included, then re-raise it.

        Continue-as-new (a ``BaseException`` too) is not a failure and is let through.
        If compensation fails, :class:`CompensationFailed` replaces the original
        exception (chained from it), so the workflow ends FAILED.
        """
        if exc is None or isinstance(exc, (workflow.ContinueAsNewError, GeneratorExit)):
            return False
        try:
            await self.compensate()
        except CompensationFailed as failed:
            if failed is exc:  # compensate() was already called inside the block
                return False
            raise failed from exc
        return False


async def _await_shielded(task: asyncio.Task[Any]) -> Any:
    """Await ``task`` to its end even if the awaiting task is cancelled meanwhile."""
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():  # finished (or was itself cancelled, e.g. on eviction)
                return task.result()
            # Swallow this cancel: the caller re-raises the original exception anyway.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
