"""The order saga on Temporal's time-skipping test server, with its activities mocked by name.

The time-skipping server (``temporal-test-server`` from PyPI, never downloaded) jumps its
clock forward whenever every workflow is only waiting on a timer and the client waits
for a result: a saga that holds an order for a week ends in a fraction of a second.

The activities below are **mocks registered under the real activity names** (``charge``,
``refund``, ``create_order``, ...) on the real task queues of :mod:`saga_lab.config`.
They isolate the workflow from the real payment, order and shipping services: no
SQLite, nothing to clean up, and every call is recorded in :data:`CALLS`, so each test
can say exactly which steps and compensations ran, in which order, how many times.
They honour the fault plan in their input the way the real activities do (via
:mod:`saga_lab.faults`; ``timeout`` faults are not mocked), so each compensation path is
one line of the table in :data:`PATHS`.

Wait for one result at a time: the server skips time while a client waits for a result,
and with several waits at once it was seen skipping past the start-to-close timeouts of
activities still running (extra attempts that no fault asked for).

The real activities are tested too, one at a time, with
``temporalio.testing.ActivityEnvironment`` against a temporary SQLite store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from saga_lab import server
from saga_lab.activities import PaymentActivities
from saga_lab.checkout import order_result
from saga_lab.config import ORDER_TASK_QUEUE, PAYMENT_TASK_QUEUE, SHIPPING_TASK_QUEUE, WORKFLOW_TASK_QUEUE
from saga_lab.faults import PERMANENT, TRANSIENT, TRANSIENT_ERROR_TYPE, Fault, FaultPlan, error_before_work
from saga_lab.models import (
    CancelOrderInput,
    CancelShipmentInput,
    ChargeInput,
    CreateOrderInput,
    CreateShipmentInput,
    RefundInput,
)
from saga_lab.services import PaymentService, ServiceError
from saga_lab.workflows import (
    COMPENSATED,
    COMPLETED,
    FAILED,
    STEP_RETRY,
    WORKFLOWS,
    NaiveOrderWorkflow,
    OrderInput,
    OrderResult,
    OrderSagaWorkflow,
)

try:  # tests/ may or may not become a package
    from . import nondeterministic_workflows as changed
except ImportError:
    import nondeterministic_workflows as changed

WEEK = timedelta(days=7)

#: Real seconds to wait for a result. A workflow *task* failure is retried forever:
#: fail the test instead of hanging. Not a speed target (those live in ``bench/``).
RESULT_TIMEOUT_S = 30


# ------------------------------------------------------------------ the mocks


@dataclass(frozen=True)
class Call:
    workflow_id: str
    activity: str
    attempt: int


#: Every activity attempt any mock saw, in order.
CALLS: list[Call] = []

#: A test may hold a step's attempt open until it sets the event: (workflow id, step) -> event.
GATES: dict[tuple[str, str], asyncio.Event] = {}
#: ...and have every attempt then fail: (workflow id, step) -> a function that makes the error.
FAILURES: dict[tuple[str, str], Callable[[], Exception]] = {}


async def _held(name: str) -> None:
    key = (activity.info().workflow_id, name)
    gate = GATES.get(key)
    if gate is not None:
        await gate.wait()
    if key in FAILURES:
        raise FAILURES[key]()


def _mock(name: str, fault: Fault | None) -> None:
    """Record the call; fail it as the fault plan says (as the real activity would, nothing written)."""
    info = activity.info()
    CALLS.append(Call(info.workflow_id, name, info.attempt))
    error = error_before_work(name, fault, info.attempt)
    if isinstance(error, ServiceError):
        raise ApplicationError(str(error), type=error.type_name, non_retryable=True) from None
    if error is not None:
        raise error


@activity.defn(name="charge")
async def charge(input: ChargeInput) -> str:
    _mock("charge", input.fault)
    await _held("charge")
    return f"pay-{input.order_id}-1"


@activity.defn(name="refund")
async def refund(input: RefundInput) -> int:
    _mock("refund", input.fault)
    return 4999


@activity.defn(name="create_order")
async def create_order(input: CreateOrderInput) -> str:
    _mock("create_order", input.fault)
    await _held("create_order")
    return "ACTIVE"


@activity.defn(name="cancel_order")
async def cancel_order(input: CancelOrderInput) -> str:
    _mock("cancel_order", input.fault)
    return "CANCELLED"


@activity.defn(name="create_shipment")
async def create_shipment(input: CreateShipmentInput) -> str:
    _mock("create_shipment", input.fault)
    await _held("create_shipment")
    return f"shp-{input.order_id}-1"


@activity.defn(name="cancel_shipment")
async def cancel_shipment(input: CancelShipmentInput) -> str | None:
    _mock("cancel_shipment", input.fault)
    return f"shp-{input.order_id}-1"


#: The mocks on the task queues the workflow sends each step to: they replace the real services.
MOCKS = {
    PAYMENT_TASK_QUEUE: [charge, refund],
    ORDER_TASK_QUEUE: [create_order, cancel_order],
    SHIPPING_TASK_QUEUE: [create_shipment, cancel_shipment],
}


def calls(workflow_id: str) -> list[str]:
    """The activities a run called, one entry per attempt."""
    return [c.activity for c in CALLS if c.workflow_id == workflow_id]


# ------------------------------------------------------------------ the environment


@pytest.fixture(scope="module")
async def env():
    """The time-skipping server, the package's workflows, and the mocks on the real task queues."""
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server.test_server_path()))
    try:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(Worker(env.client, task_queue=WORKFLOW_TASK_QUEUE, workflows=WORKFLOWS))
            for task_queue, activities in MOCKS.items():
                await stack.enter_async_context(Worker(env.client, task_queue=task_queue, activities=activities))
            yield env
    finally:
        await env.shutdown()


def _order_id(label: str) -> str:
    return f"ts-{label}-{uuid.uuid4().hex[:6]}"


async def _start(
    env: WorkflowEnvironment, order: OrderInput, workflow=OrderSagaWorkflow.run, task_queue=WORKFLOW_TASK_QUEUE
):
    return await env.client.start_workflow(workflow, order, id=order.order_id, task_queue=task_queue)


async def _result(handle: WorkflowHandle) -> OrderResult:
    return await asyncio.wait_for(order_result(handle), RESULT_TIMEOUT_S)


async def _wait_for_hold(handle: WorkflowHandle) -> None:
    """Until the saga waits in its hold. Queries do not skip time: the hold stays ahead."""
    for _ in range(400):
        if (await handle.query(OrderSagaWorkflow.progress)).current_step == "hold":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{handle.id} never reached its hold")


async def _timers(handle: WorkflowHandle) -> list[tuple[timedelta, str]]:
    """Each timer the run started: its duration and how it ended (fired or canceled)."""
    started: dict[int, timedelta] = {}
    ended: dict[int, str] = {}
    async for e in handle.fetch_history_events():
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            started[e.event_id] = e.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            ended[e.timer_fired_event_attributes.started_event_id] = "fired"
        elif e.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            ended[e.timer_canceled_event_attributes.started_event_id] = "canceled"
    return [(duration, ended.get(event_id, "pending")) for event_id, duration in started.items()]


async def _run_time(handle: WorkflowHandle) -> timedelta:
    """Start to close of the run on the server's clock (the one that skips)."""
    description = await handle.describe()
    return description.close_time - description.start_time


# ------------------------------------------------------------------ a week-long hold


async def test_a_week_long_hold_ends_without_waiting_a_week(env):
    order = OrderInput(_order_id("week"), 4999, hold_seconds=WEEK.total_seconds())
    handle = await _start(env, order)
    result = await _result(handle)
    assert result.status == COMPLETED and result.shipment_id == f"shp-{order.order_id}-1"
    assert calls(order.order_id) == ["charge", "create_order", "create_shipment"]
    assert await _timers(handle) == [(WEEK, "fired")]
    assert await _run_time(handle) >= WEEK  # the run lasted a week on the server's clock, and _result's
    # RESULT_TIMEOUT_S bound says we did not wait a week for it


async def test_the_cancel_order_update_during_the_week_long_hold_compensates(env):
    order = OrderInput(_order_id("week-update"), 4999, hold_seconds=WEEK.total_seconds())
    handle = await _start(env, order)
    await _wait_for_hold(handle)
    answer = await handle.execute_update(OrderSagaWorkflow.cancel_order, "found it cheaper")
    assert answer == f"cancellation requested for {order.order_id}"
    result = await _result(handle)
    assert result.status == COMPENSATED
    assert result.compensations == ["cancel_order", "refund"]
    assert result.failed_step == "hold" and result.error == "cancelled by the customer: found it cheaper"
    assert calls(order.order_id) == ["charge", "create_order", "cancel_order", "refund"]  # never shipped
    assert await _timers(handle) == [(WEEK, "canceled")]  # the hold ended early
    assert await _run_time(handle) < WEEK


async def test_temporal_cancellation_during_the_week_long_hold_compensates(env):
    order = OrderInput(_order_id("week-cancel"), 4999, hold_seconds=WEEK.total_seconds())
    handle = await _start(env, order)
    await _wait_for_hold(handle)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    assert isinstance(failed.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert calls(order.order_id) == ["charge", "create_order", "cancel_order", "refund"]
    assert await _run_time(handle) < WEEK
    progress = await handle.query(OrderSagaWorkflow.progress)
    assert progress.compensations_done == ["cancel_order", "refund"]


# ------------------------------------------------------------------ every compensation path


@dataclass(frozen=True)
class CompensationPath:
    faults: tuple[str, ...]
    status: str
    compensations: list[str]
    calls: list[str]


#: fault plan -> how the saga ends, what it undid, and every activity attempt, in order.
PATHS = {
    "happy": CompensationPath((), COMPLETED, [], ["charge", "create_order", "create_shipment"]),
    "charge-declined": CompensationPath(("charge=permanent",), COMPENSATED, [], ["charge"]),
    "order-rejected": CompensationPath(
        ("create_order=permanent",), COMPENSATED, ["refund"], ["charge", "create_order", "refund"]
    ),
    "shipment-rejected": CompensationPath(
        ("create_shipment=permanent",),
        COMPENSATED,
        ["cancel_order", "refund"],
        ["charge", "create_order", "create_shipment", "cancel_order", "refund"],
    ),
    "charge-retried": CompensationPath(
        ("charge=transient:2",), COMPLETED, [], ["charge"] * 3 + ["create_order", "create_shipment"]
    ),
    # a step that runs out of attempts without a business answer may have happened: undo it too
    "charge-unavailable": CompensationPath(
        ("charge=transient:5",), COMPENSATED, ["refund"], ["charge"] * 5 + ["refund"]
    ),
    "shipment-unavailable": CompensationPath(
        ("create_shipment=transient:5",),
        COMPENSATED,
        ["cancel_shipment", "cancel_order", "refund"],
        ["charge", "create_order"] + ["create_shipment"] * 5 + ["cancel_shipment", "cancel_order", "refund"],
    ),
    "refund-retried": CompensationPath(
        ("create_shipment=permanent", "refund=transient:2"),
        COMPENSATED,
        ["cancel_order", "refund"],
        ["charge", "create_order", "create_shipment", "cancel_order"] + ["refund"] * 3,
    ),
    "order-rejected-refund-retried": CompensationPath(  # notebook 09's exercise
        ("create_order=permanent", "refund=transient:2"),
        COMPENSATED,
        ["refund"],
        ["charge", "create_order"] + ["refund"] * 3,
    ),
    "refund-rejected": CompensationPath(
        ("create_shipment=permanent", "refund=permanent"),
        FAILED,
        ["cancel_order"],
        ["charge", "create_order", "create_shipment", "cancel_order", "refund"],
    ),
    "cancel-order-rejected": CompensationPath(
        ("create_shipment=permanent", "cancel_order=permanent"),
        FAILED,
        ["refund"],
        ["charge", "create_order", "create_shipment", "cancel_order", "refund"],
    ),
}


@pytest.mark.parametrize("path", PATHS.values(), ids=PATHS.keys())
async def test_each_fault_takes_its_compensation_path(env, path: CompensationPath):
    order = OrderInput(_order_id("path"), 4999, FaultPlan.parse(list(path.faults)))
    handle = await _start(env, order)
    result = await _result(handle)
    assert (result.status, result.compensations) == (path.status, path.compensations), result.error
    assert calls(order.order_id) == path.calls
    expected = WorkflowExecutionStatus.FAILED if path.status == FAILED else WorkflowExecutionStatus.COMPLETED
    assert (await handle.describe()).status == expected


async def test_a_failed_compensation_fails_the_workflow_and_says_a_person_is_needed(env):
    order = OrderInput(
        _order_id("needs-person"), 4999, FaultPlan.parse(["create_shipment=permanent", "refund=permanent"])
    )
    handle = await _start(env, order)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "CompensationFailed" and cause.non_retryable
    assert cause.message.startswith("needs a person: 1 of 2 compensations failed: refund (")
    assert OrderResult(**cause.details[0]).compensations == ["cancel_order"]


async def test_parallel_compensation_runs_both_undos(env):
    order = OrderInput(
        _order_id("parallel"), 4999, FaultPlan.parse(["create_shipment=permanent"]), parallel_compensation=True
    )
    result = await _result(await _start(env, order))
    assert result.status == COMPENSATED and sorted(result.compensations) == ["cancel_order", "refund"]
    assert sorted(calls(order.order_id)[3:]) == ["cancel_order", "refund"]


async def test_the_naive_workflow_undoes_nothing(env):
    order = OrderInput(_order_id("naive"), 4999, FaultPlan.parse(["create_shipment=permanent"]))
    result = await _result(await _start(env, order, NaiveOrderWorkflow.run))
    assert result.status == FAILED and result.payment_id == f"pay-{order.order_id}-1"  # charged, never refunded
    assert calls(order.order_id) == ["charge", "create_order", "create_shipment"]


# ------------------------------------------------------------------ versioning, on a fresh run


async def test_a_patched_change_takes_the_new_branch_on_a_new_run(env):
    """The other half of ``test_replay.py``: a *new* run of the patched code creates the order first."""
    order = OrderInput(_order_id("patched"), 4999)
    task_queue = f"patched-{uuid.uuid4().hex[:6]}"
    async with Worker(env.client, task_queue=task_queue, workflows=[changed.OrderFirstPatchedWorkflow]):
        handle = await _start(env, order, changed.OrderFirstPatchedWorkflow.run, task_queue)
        result = await _result(handle)
    assert result.status == COMPLETED
    assert calls(order.order_id) == ["create_order", "charge", "create_shipment"]
    history = await handle.fetch_history()
    markers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]
    assert len(markers) == 1  # the patch marker: the run remembers which branch it took
    await Replayer(workflows=[changed.OrderFirstPatchedWorkflow]).replay_workflow(history)
    with pytest.raises(NondeterminismError):  # the old code cannot take this run back
        await Replayer(workflows=WORKFLOWS).replay_workflow(history)


# ------------------------------------------------------------------ one real activity


@pytest.fixture
def payment(tmp_path) -> PaymentActivities:
    return PaymentActivities(PaymentService(tmp_path / "payment.db"))


def test_charge_writes_one_ledger_row_once_per_idempotency_key(payment):
    env = ActivityEnvironment()  # a plain ``def`` activity runs right here, in this thread
    first = env.run(payment.charge, ChargeInput("ORD-1", 4999, "ORD-1:charge"))
    again = env.run(payment.charge, ChargeInput("ORD-1", 4999, "ORD-1:charge"))  # a retry
    assert first == again == "pay-ORD-1-1"
    assert [(row.kind, row.amount) for row in payment.payments.ledger("ORD-1")] == [("charge", 4999)]


@pytest.mark.parametrize(
    "amount, fault, error_type",
    [(0, None, "InvalidAmount"), (4999, Fault(PERMANENT), "PaymentDeclined")],
    ids=["invalid-amount", "declined"],
)
def test_a_domain_error_becomes_a_non_retryable_application_error(payment, amount, fault, error_type):
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(payment.charge, ChargeInput("ORD-2", amount, "ORD-2:charge", fault))
    # Final where it is raised: no retry policy retries it, not even the default one.
    assert raised.value.type == error_type and raised.value.non_retryable
    assert error_type in STEP_RETRY.non_retryable_error_types  # and the saga's policy says so too
    assert payment.payments.ledger("ORD-2") == []  # nothing written


def test_a_transient_fault_is_retryable_and_the_next_attempt_works(payment):
    env = ActivityEnvironment()
    fault = Fault(TRANSIENT, 2)
    with pytest.raises(ApplicationError) as raised:
        env.run(payment.charge, ChargeInput("ORD-3", 4999, "ORD-3:charge", fault))
    assert raised.value.type == TRANSIENT_ERROR_TYPE and not raised.value.non_retryable
    env.info = dataclasses.replace(env.info, attempt=3)  # what Temporal's third attempt sees
    assert env.run(payment.charge, ChargeInput("ORD-3", 4999, "ORD-3:charge", fault)) == "pay-ORD-3-1"
