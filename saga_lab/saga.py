"""A Saga (compensation) helper for Temporal Python workflows, in one file.

It imports only ``temporalio`` and the standard library: copy this file into your
project to use it (``tests/test_saga.py`` is its test suite). Inside a workflow, with
``STEP = {"start_to_close_timeout": timedelta(seconds=10)}``::

    saga = Saga()
    async with saga:
        await workflow.execute_activity(charge, order, **STEP)
        saga.add_compensation("refund", workflow.execute_activity, refund, order, **STEP)
        # registered BEFORE the action: a create that timed out may still have happened
        saga.add_compensation("cancel_order", workflow.execute_activity, cancel_order, order, **STEP)
        await workflow.execute_activity(create_order, order, **STEP)
        await workflow.execute_activity(ship, order, **STEP)

When a step fails (an ``ActivityError``), the workflow is cancelled, or the block raises
one of the exceptions you declare (``Saga(compensate_on=(OrderCancelled,))``), the undos
registered so far run, newest first (here ``cancel_order``, then ``refund``), and the
exception goes on: the run ends FAILED or CANCELED, or your ``except`` turns it into a
result. If an undo fails for good, :class:`CompensationFailed` replaces it: the run ends
FAILED, and a person must act.

**Compensate for failures, never for bugs.** The helper compensates exactly for the
exceptions that end a run: Temporal's failures (``temporalio.exceptions.FailureError``:
``ActivityError``, ``ChildWorkflowError``, ``ApplicationError``...), a ``TimeoutError``
(the SDK fails the workflow on it too), cancellation (``asyncio.CancelledError``), and the
types in ``compensate_on`` (declare there, too, any type you list in the worker's or
workflow's ``failure_exception_types``). Anything else, a ``TypeError`` or a
``NameError``, is a bug, and goes through untouched: Temporal then fails the workflow
*task*, not the run, and retries it. The run waits, with the error visible; after you
fix the code and restart the worker, it replays to where it was and carries on. This is
Temporal's design: code can be fixed, an undone payment cannot be redone, so a bug must
never look like a business failure. ``workflow.ContinueAsNewError`` never compensates.
(Temporal's own sample draws the same line: samples-python
``message_passing/waiting_for_handlers_and_compensation``, ``is_workflow_exit_exception``.)

**How a cancel arrives.** A workflow cancel is a ``Task.cancel()`` of the workflow's main
task, delivered once. Where the workflow waits on a timer, ``workflow.sleep`` or
``workflow.wait_condition``, the ``await`` raises ``asyncio.CancelledError``, which is
*not* an ``Exception``: ``try: ... except Exception: compensate`` never sees it, and the
run ends CANCELED with nothing undone. Where it waits on an activity (or a child), the
SDK first asks the activity to cancel, and the ``await`` raises ``ActivityError`` caused
by ``temporalio.exceptions.CancelledError``, an ``Exception``. Tell both from other
failures with ``temporalio.exceptions.is_cancelled_exception(err)``. Python has no
cancellation scope: after the cancel, the workflow may schedule new activities (the
undos) and they run normally. The run ends CANCELED only if it finally raises a
cancellation; ``async with`` re-raises the original exception for that reason.

It is modelled on Java's ``io.temporal.workflow.Saga`` (the Python SDK has no Saga
class). Where it differs, on purpose:

* It compensates by itself (``async with``), on the exceptions above; in Java you call
  ``saga.compensate()`` in your ``catch``, and Temporal's samples catch ``ActivityFailure``.
* ``continue_with_error`` defaults to True (Java: false): one failed undo should not
  leave the others undone.
* A failed undo raises :class:`CompensationFailed`, listing every undo as done, failed or
  skipped. Java, one by one, rethrows the undo's own exception (none with
  ``continueWithError``); in parallel it throws ``Saga.CompensationException`` caused by
  the first failure, the others suppressed, and ``continueWithError`` does not apply.
* :meth:`Saga.compensate` runs the undos once; a second call returns (or raises) the same
  outcome. Java runs them all again.
* Parallel undos are started newest first (Java: in registration order); either way they
  overlap.
* The rollback runs in a task of its own, awaited through ``asyncio.shield``: a second
  cancel cannot stop it halfway. In Java you run it in a detached cancellation scope.

On eviction from the worker's cache, SDK 1.35 cancels the workflow's tasks and any new
command raises an internal ``BaseException``: an undo records only failures and lets
that through, so nothing is recorded or run twice (tested with ``max_cached_workflows=0``).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError, FailureError

__all__ = ["CompensationFailed", "CompensationRecord", "Saga", "root_message"]

DONE = "done"
FAILED = "failed"
SKIPPED = "skipped"

#: What ends a run, and so what the saga compensates for (besides ``compensate_on``).
ENDS_THE_RUN: tuple[type[BaseException], ...] = (FailureError, TimeoutError, asyncio.CancelledError)


def root_message(err: BaseException) -> str:
    """The innermost message of a Temporal failure chain (``ActivityError`` -> ``ApplicationError`` -> ...)."""
    while getattr(err, "cause", None) is not None:
        err = err.cause  # type: ignore[attr-defined]
    message = err.message if isinstance(err, FailureError) else str(err)
    return message or type(err).__name__


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
    kwargs: dict[str, Any] = field(default_factory=dict)


class Saga:
    """Registers compensations and runs them in reverse order when the saga fails.

    ``parallel_compensation`` starts every compensation at once (all of them run, so
    ``continue_with_error`` has no effect there); otherwise they run one by one, and
    ``continue_with_error=False`` stops at the first failure and marks the rest
    "skipped", like Java's ``Saga.Options``. ``compensate_on``: the workflow's own
    business exceptions that end the saga (e.g. a customer's cancellation).
    """

    def __init__(
        self,
        *,
        parallel_compensation: bool = False,
        continue_with_error: bool = True,
        compensate_on: tuple[type[BaseException], ...] = (),
    ) -> None:
        self.parallel_compensation = parallel_compensation
        self.continue_with_error = continue_with_error
        self.compensate_on = tuple(compensate_on)
        self._compensations: list[_Compensation] = []
        self._results: dict[int, CompensationRecord] = {}
        self._compensated: list[str] = []
        self._task: asyncio.Task[list[CompensationRecord]] | None = None

    # ------------------------------------------------------------ registering

    def add_compensation(self, name: str, fn: Callable[..., Awaitable[Any]], /, *args: Any, **kwargs: Any) -> None:
        """Register ``fn(*args, **kwargs)`` to undo a step.

        Register *before* the action when the action may time out with an unknown
        outcome: the compensation must then be safe to run for a step that never
        happened (idempotent, "nothing to undo" is success).
        """
        if not callable(fn):
            raise TypeError(f"compensation {name!r}: {fn!r} is not callable")
        if self._task is not None:
            # A bug in the workflow, not a business failure: fail the task, not the run.
            raise RuntimeError(f"compensation {name!r} registered after compensation started")
        self._compensations.append(_Compensation(name, fn, args, kwargs))

    def compensates_for(self, exc: BaseException) -> bool:
        """True for an exception that ends the run (a failure, a cancel, a declared one); False for a bug."""
        if isinstance(exc, workflow.ContinueAsNewError):
            return False
        return isinstance(exc, ENDS_THE_RUN + self.compensate_on)

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
    def failed(self) -> list[str]:
        """Compensations that failed for good: what a person must finish."""
        return [r.name for r in self.records if r.status == FAILED]

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
            result = comp.fn(*comp.args, **comp.kwargs)
            if inspect.isawaitable(result):
                await result
        except (FailureError, TimeoutError, *self.compensate_on) as err:
            # A failure is recorded; a bug (TypeError...) or an eviction (a BaseException) goes through.
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
        """Compensate when the block ends the run (see :meth:`compensates_for`), then re-raise.

        A bug goes through untouched, with nothing undone. If compensation fails,
        :class:`CompensationFailed` replaces the original exception (chained from it),
        so the workflow ends FAILED.
        """
        if exc is None or not self.compensates_for(exc):
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
