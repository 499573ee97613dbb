"""A cancel or a business deadline that lands while a step runs: the whole order is undone.

The SDK delivers a cancel once. When it lands while a step's activity runs and the step
then completes, the workflow gets the step's result and the cancel is not raised again;
``OrderSagaWorkflow._step`` therefore asks after every step whether a stop arrived. These
tests hold a step open until the stop is in the history, then let it complete normally.

They run on the session's real dev server, with the time-skipping module's mocks of the
six activities (registered by name; they record every call and can be held open by a
gate) on task queues of their own: the mocks isolate the workflow's stop logic from the
services, and a real clock fires the deadline. (On the time-skipping server the same
deadline case stalled about one run in eight: the server left a workflow task started
and never completed, so these moved here.)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.worker import Worker

from saga_lab import config, connection
from saga_lab.checkout import order_result
from saga_lab.models import COMPENSATED, OrderInput
from saga_lab.workflows import WORKFLOWS, OrderSagaWorkflow

try:  # tests/ may or may not become a package
    from .test_saga_time_skipping import FAILURES, GATES, MOCKS, RESULT_TIMEOUT_S, calls
except ImportError:
    from test_saga_time_skipping import FAILURES, GATES, MOCKS, RESULT_TIMEOUT_S, calls

#: Every queue of this module sits under its own prefix: no other worker takes its tasks.
PREFIX = f"midstep-{uuid.uuid4().hex[:6]}/"


@pytest.fixture(scope="module")
async def client(session_server):
    client = await connection.connect(session_server)
    async with AsyncExitStack() as stack:
        queue = config.task_queue("workflow", PREFIX)
        await stack.enter_async_context(Worker(client, task_queue=queue, workflows=WORKFLOWS))
        for base, activities in MOCKS.items():
            await stack.enter_async_context(Worker(client, task_queue=PREFIX + base, activities=activities))
        yield client


async def _start(client, order: OrderInput) -> WorkflowHandle:
    return await client.start_workflow(
        OrderSagaWorkflow.run, order, id=order.order_id, task_queue=config.task_queue("workflow", PREFIX)
    )


#: What each forward step leaves to undo when the saga is stopped while it runs (it completes).
UNDONE_AFTER = {
    "charge": ["refund"],
    "create_order": ["cancel_order", "refund"],
    "create_shipment": ["cancel_shipment", "cancel_order", "refund"],
}
MID_STEP = [(step, stop) for step in UNDONE_AFTER for stop in ("cancel", "deadline")]


async def _until(what: str, check) -> None:
    """Poll ``check()`` (sync or async) until true; fail with ``what`` after a deadline."""
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    while time.monotonic() < deadline:
        done = check()
        if asyncio.iscoroutine(done):
            done = await done
        if done:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"waited {RESULT_TIMEOUT_S} s for {what}")


async def _has_event(handle: WorkflowHandle, event_type: int) -> bool:
    return any([e.event_type == event_type async for e in handle.fetch_history_events()])


@pytest.mark.parametrize(("step", "stop"), MID_STEP, ids=[f"{stop}-during-{step}" for step, stop in MID_STEP])
async def test_a_cancel_or_deadline_while_a_step_runs_undoes_the_whole_order(client, step, stop):
    """The SDK delivers a cancel once: if the step then completes, its result comes back and the
    cancel is not raised again. The saga must notice anyway and undo everything, the step included."""
    order = OrderInput(f"mid-{stop}-{uuid.uuid4().hex[:6]}", 4999, deadline_seconds=1.0 if stop == "deadline" else 0.0)
    gate = GATES[(order.order_id, step)] = asyncio.Event()
    handle = await _start(client, order)
    await _until(f"{step} to start", lambda: step in calls(order.order_id))
    if stop == "cancel":
        await handle.cancel()
        requested = EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED
        await _until("the step's cancel request", lambda: _has_event(handle, requested))
    else:
        await _until("the deadline", lambda: _has_event(handle, EventType.EVENT_TYPE_TIMER_FIRED))
    gate.set()  # the step now completes normally, after the stop
    forward = list(UNDONE_AFTER)[: list(UNDONE_AFTER).index(step) + 1]
    if stop == "cancel":
        with pytest.raises(WorkflowFailureError) as failed:
            await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
        assert isinstance(failed.value.cause, CancelledError)
        assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
        undone = (await handle.query(OrderSagaWorkflow.progress)).compensations_done
    else:
        result = await asyncio.wait_for(order_result(handle), RESULT_TIMEOUT_S)
        assert result.status == COMPENSATED and result.failed_step == step
        assert "deadline" in result.error and result.shipment_id is None
        undone = result.compensations
    assert undone == UNDONE_AFTER[step]
    assert calls(order.order_id) == forward + UNDONE_AFTER[step]  # nothing ran after the stop but undos


async def test_a_deadline_and_the_steps_result_in_one_workflow_task_undo_the_step(session_server):
    """The deadline's timer fires and the step completes before a worker looks: one workflow task gets
    both, the timer first (as the history has them). The step ended after the deadline: it is undone.

    A busy fresh clone once ended this COMPLETED: the deadline reached the saga a loop turn after the
    step's result. Here the workflow worker is stopped while both land, so the one task is certain."""
    prefix = f"midstep-{uuid.uuid4().hex[:6]}-one-task/"
    client = await connection.connect(session_server)
    queue = config.task_queue("workflow", prefix)
    order = OrderInput(f"mid-one-task-{uuid.uuid4().hex[:6]}", 4999, deadline_seconds=1.0)
    gate = GATES[(order.order_id, "create_shipment")] = asyncio.Event()
    async with AsyncExitStack() as stack:
        for base, activities in MOCKS.items():
            await stack.enter_async_context(Worker(client, task_queue=prefix + base, activities=activities))
        async with Worker(client, task_queue=queue, workflows=WORKFLOWS):
            handle = await client.start_workflow(OrderSagaWorkflow.run, order, id=order.order_id, task_queue=queue)
            await _until("create_shipment to start", lambda: "create_shipment" in calls(order.order_id))
        await _until("the deadline", lambda: _has_event(handle, EventType.EVENT_TYPE_TIMER_FIRED))
        gate.set()
        completed = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        await _until("the step's result", lambda: _count(handle, completed, 3))
        async with Worker(client, task_queue=queue, workflows=WORKFLOWS):
            result = await asyncio.wait_for(order_result(handle), RESULT_TIMEOUT_S)
    kinds = [e.event_type async for e in handle.fetch_history_events()]
    fired = kinds.index(EventType.EVENT_TYPE_TIMER_FIRED)
    done = [i for i, kind in enumerate(kinds) if kind == completed][2]  # create_shipment's, the third step's
    assert fired < done and EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED not in kinds[fired:done]  # one task got both
    assert result.status == COMPENSATED and result.failed_step == "create_shipment", result
    assert result.compensations == UNDONE_AFTER["create_shipment"]


async def _count(handle: WorkflowHandle, event_type: int, n: int) -> bool:
    return sum([e.event_type == event_type async for e in handle.fetch_history_events()]) >= n


#: A stop lands while ``create_order`` runs, and the attempt then fails: retryably (Temporal does not
#: retry it after a cancel) or with a business error. The stop is what ended the saga, and says so.
STOP_THEN_FAIL = {
    ("cancel", "retryable"): ("CANCELED", "the workflow was cancelled during create_order", ["cancel_order", "refund"]),
    ("deadline", "retryable"): (
        "COMPLETED",
        "the business deadline passed during create_order: the order was undone",
        ["cancel_order", "refund"],
    ),
    ("cancel", "business"): ("CANCELED", "the workflow was cancelled during create_order", ["refund"]),
    ("customer", "business"): ("COMPLETED", "cancelled by the customer: found it cheaper", ["refund"]),
}


def _failure(kind: str) -> Callable[[], Exception]:
    if kind == "retryable":
        return lambda: ApplicationError("the order service is restarting", type="ServiceUnavailable")
    return lambda: ApplicationError("the order was rejected", type="OrderRejected", non_retryable=True)


@pytest.mark.parametrize(("stop", "kind"), STOP_THEN_FAIL, ids=[f"{s}-then-{k}" for s, k in STOP_THEN_FAIL])
async def test_a_stop_then_a_failing_attempt_ends_as_the_stop_says(client, stop, kind):
    deadline = 1.0 if stop == "deadline" else 0.0
    order = OrderInput(f"mid-{stop}-{kind}-{uuid.uuid4().hex[:6]}", 4999, deadline_seconds=deadline)
    key = (order.order_id, "create_order")
    gate = GATES[key] = asyncio.Event()
    FAILURES[key] = _failure(kind)
    handle = await _start(client, order)
    await _until("create_order to start", lambda: "create_order" in calls(order.order_id))
    if stop == "cancel":
        await handle.cancel()
        requested = EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED
        await _until("the step's cancel request", lambda: _has_event(handle, requested))
    elif stop == "deadline":
        await _until("the deadline", lambda: _has_event(handle, EventType.EVENT_TYPE_TIMER_FIRED))
    else:
        await handle.execute_update(OrderSagaWorkflow.cancel_order, "found it cheaper")
    gate.set()  # the attempt now fails, after the stop
    result = await asyncio.wait_for(order_result(handle), RESULT_TIMEOUT_S)
    run_status, error, undone = STOP_THEN_FAIL[(stop, kind)]
    assert (result.status, result.error, result.failed_step) == (COMPENSATED, error, "create_order"), result
    assert result.compensations == undone
    assert (await handle.describe()).status.name == run_status
    assert calls(order.order_id).count("create_order") == 1  # after a stop, no retry
