"""Check for exercise 10: your time-skipping test of a three-day hold (``exercises/e10_three_day_hold.py``).

A test earns its keep when it fails on broken code. The check runs your
``test_the_order_ships_after_a_three_day_hold(env)`` several times, each time on a fresh
time-skipping test server with a worker for one workflow (registered under the real
name, ``OrderSagaWorkflow``) and mocks of the six activities:

- on the real ``OrderSagaWorkflow`` it must pass;
- on each workflow of :data:`BROKEN` (a hold that a plausible bug broke) it must fail:
  any exception counts, a failed ``assert`` is the usual one. A test that does not end
  there does not fail either: in CI it would hang, and say nothing.

Every run is bounded (:data:`RUN_TIMEOUT_S` of real time). It says the first thing that
is wrong: the test fails (or hangs) on the real workflow, it hangs on a broken one, or it
also passes on a broken one (and which).
"""

from __future__ import annotations

import asyncio
import time
import traceback
from contextlib import AsyncExitStack
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from saga_lab import connection, server
from saga_lab.config import ORDER_TASK_QUEUE, PAYMENT_TASK_QUEUE, SHIPPING_TASK_QUEUE, WORKFLOW_TASK_QUEUE
from saga_lab.workflows import OrderInput, OrderResult, OrderSagaWorkflow

from . import support

MODULE = "e10_three_day_hold"
TEST = "test_the_order_ships_after_a_three_day_hold"
#: Real seconds one run of your test may take (on the time-skipping server, three days take well under one).
RUN_TIMEOUT_S = 20.0


# ------------------------------------------------------------------ broken holds


@workflow.defn(name="OrderSagaWorkflow")
class NoHold(OrderSagaWorkflow):
    """The hold is skipped: the order ships at once."""

    async def _hold(self) -> None:
        return None

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        return await super().run(order)


@workflow.defn(name="OrderSagaWorkflow")
class HoursNotDays(OrderSagaWorkflow):
    """The hold lasts ``hold_seconds / 24``: 3 hours instead of 3 days (a unit mixed up)."""

    async def _hold(self) -> None:
        self.current = "hold"
        await workflow.sleep(self.order.hold_seconds / 24)

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        return await super().run(order)


@workflow.defn(name="OrderSagaWorkflow")
class HourShort(OrderSagaWorkflow):
    """The hold ends an hour early: 71 hours (an off-by-one in a schedule)."""

    async def _hold(self) -> None:
        self.current = "hold"
        await workflow.sleep(self.order.hold_seconds - 3600)

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        return await super().run(order)


@workflow.defn(name="OrderSagaWorkflow")
class ShipsFirst(OrderSagaWorkflow):
    """The order is shipped, then held: the run still lasts three days."""

    async def _forward_steps(self, result: OrderResult) -> None:
        result.payment_id = await self._charge()
        await self._create_order()
        result.shipment_id = await self._create_shipment()
        await self._hold()

    @workflow.run
    async def run(self, order: OrderInput) -> OrderResult:
        return await super().run(order)


@dataclass(frozen=True)
class Broken:
    workflow: type
    #: "your test also passes on a workflow that ...".
    does: str
    #: "... : it ..." (what the test is missing, never how to write it).
    missing: str


BROKEN = [
    Broken(NoHold, "skips the hold", "asserts nothing about the hold"),
    Broken(HoursNotDays, "holds the order 3 hours instead of 3 days", "does not tell a 3-hour hold from 3 days"),
    Broken(HourShort, "holds the order 71 hours, an hour short", "does not tell a hold an hour short from three days"),
    Broken(
        ShipsFirst, "ships the order first and holds it afterwards", "does not say the shipment waited for the hold"
    ),
]


# ------------------------------------------------------------------ the activities, mocked


def _mock(name: str, answer: Any):
    """An activity named ``name`` that writes nothing and answers ``answer`` (or ``answer(input)``)."""

    @activity.defn(name=name)
    async def mocked(input: dict) -> Any:
        return answer(input) if callable(answer) else answer

    return mocked


def _payment_id(input: dict) -> str:
    return f"pay-{input['order_id']}-1"


def _shipment_id(input: dict) -> str:
    return f"shp-{input['order_id']}-1"


MOCKS = {
    PAYMENT_TASK_QUEUE: [_mock("charge", _payment_id), _mock("refund", 4999)],
    ORDER_TASK_QUEUE: [_mock("create_order", "ACTIVE"), _mock("cancel_order", "CANCELLED")],
    SHIPPING_TASK_QUEUE: [_mock("create_shipment", _shipment_id), _mock("cancel_shipment", _shipment_id)],
}

#: The broken workflows live in this module: the sandbox takes it as it is instead of re-importing it.
_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("checks"))


class Hung(Exception):
    """The test did not end within :data:`RUN_TIMEOUT_S` of real time."""


def _why(err: BaseException, test_file: str | None) -> str:
    """An exception in one line, with the line of the test that raised it."""
    said = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    frames = [f for f in traceback.extract_tb(err.__traceback__) if test_file and f.filename == test_file]
    if frames:
        said += f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})"
    return said


async def run_test(test, workflow_cls: type) -> BaseException | None:
    """Run ``test(env)`` on a fresh time-skipping server where ``workflow_cls`` is ``OrderSagaWorkflow``.

    Returns what the test raised (:class:`Hung` when it did not end in time), or None when it passed.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server.test_server_path()), runtime=connection.runtime()
    )
    try:
        async with AsyncExitStack() as workers:
            await workers.enter_async_context(
                support.kernel_worker(
                    env.client, WORKFLOW_TASK_QUEUE, workflows=[workflow_cls], workflow_runner=_RUNNER
                )
            )
            for task_queue, activities in MOCKS.items():
                await workers.enter_async_context(support.kernel_worker(env.client, task_queue, activities=activities))
            running = asyncio.ensure_future(test(env))
            done, _ = await asyncio.wait([running], timeout=RUN_TIMEOUT_S)
            if not done:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
                return Hung()
            return running.exception()  # any exception is a failed test; an AssertionError most often
    finally:
        await env.shutdown()


async def check(module: ModuleType | None = None) -> bool:
    """Run your test on the real workflow and on the broken ones; print PASS, or NOT YET and what is wrong."""
    took: list[float] = []

    async def body() -> str | None:
        learner = support.load(MODULE, module=module)
        test = getattr(learner, TEST, None)
        if test is None or not asyncio.iscoroutinefunction(test):
            return f"{support.source(MODULE)} has no `async def {TEST}(env)`: keep the name the file started with"
        test_file = getattr(learner, "__file__", None)
        began = time.monotonic()
        failed = await run_test(test, OrderSagaWorkflow)
        took.append(time.monotonic() - began)
        if isinstance(failed, Hung):
            return (
                f"your test did not end within {RUN_TIMEOUT_S:g} s of real time on the real OrderSagaWorkflow "
                "(the server skips time only while a client waits for a workflow's result, or sleeps with env.sleep)"
            )
        if failed is not None:
            return f"your test fails on the real OrderSagaWorkflow, whose hold works: {_why(failed, test_file)}"
        outcomes = await asyncio.gather(*(run_test(test, broken.workflow) for broken in BROKEN))
        hung = [broken for broken, outcome in zip(BROKEN, outcomes) if isinstance(outcome, Hung)]
        if hung:
            return (
                f"your test did not end within {RUN_TIMEOUT_S:g} s of real time on a workflow that {hung[0].does}: "
                "a test that waits for what a broken workflow never does hangs in CI instead of failing; assert it"
            )
        slipped = [broken for broken, outcome in zip(BROKEN, outcomes) if outcome is None]
        if len(slipped) == len(BROKEN):
            return (
                "your test passes on the real workflow, and also on every broken one ("
                + "; ".join(broken.does for broken in BROKEN)
                + "): it asserts nothing about the hold yet"
            )
        if slipped:
            first = slipped[0]
            also = f" (and on {len(slipped) - 1} more broken one)" if len(slipped) > 1 else ""
            return f"your test also passes on a workflow that {first.does}{also}: it {first.missing}"
        return None

    return await support.judge(
        "e10",
        lambda: (
            f"your test passes on the real OrderSagaWorkflow ({took[0]:.1f} s of real time for a three-day hold) "
            f"and fails on each of the {len(BROKEN)} broken holds."
        ),
        body,
    )
