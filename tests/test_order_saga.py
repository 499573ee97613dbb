"""Integration tests: the order saga on the real dev server and the services' real SQLite files.

The root ``conftest.py`` starts one Temporal dev server for the session and points
``SAGA_LAB_HOME`` at a temporary directory, so the workers started here and the
assertions below read and write the same three databases.

The expected end state of each fault case is computed by :func:`expect` from the
saga's rules (which step may have had effects, which compensation is registered
when, what a compensation failure does), not copied from the implementation; the
oracle itself is pinned by :func:`test_the_oracle_says_what_the_brief_says`.

Timeout faults cost one ``STEP_TIMEOUT`` (2 s) per attempt, so every fault case is
started at once by the module fixture ``fault_runs`` and each parametrized test only
awaits its own run; the 5-attempt charge timeout (~13 s) is checked last so the other
tests overlap with it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import CancelledError
from temporalio.service import RPCError

from saga_lab import config, connection, server
from saga_lab.checkout import (
    ended_within,
    order_result,
    place_order,
    show_order,
    start_order,
    terminate_if_running,
    wait_for_step,
    workflow_status,
)
from saga_lab.config import ACTIONS, STEPS, UNDO
from saga_lab.faults import PERMANENT, SLOW, TIMEOUT, TRANSIENT, Fault, FaultPlan
from saga_lab.services import InvalidAmount, InvalidOrderId, InvalidRequest, open_services
from saga_lab.worker import BackgroundWorkers
from saga_lab.workflows import (
    COMPENSATED,
    COMPLETED,
    FAILED,
    STEP_RETRY,
    OrderResult,
    OrderSagaWorkflow,
    Progress,
)

#: Makes this module's order ids unique even against a server that outlives the session.
RUN = uuid.uuid4().hex[:6]

#: Real seconds to wait for a run's end: a workflow *task* failure retries forever.
RESULT_TIMEOUT_S = 45

#: Each compensation step is tested with a forward step that fails, so it runs.
FORCE_COMPENSATION = ("create_shipment", Fault(PERMANENT))


def oid(*parts: str) -> str:
    return "-".join(("it", *parts, RUN))


# ------------------------------------------------------------------ the oracle


@dataclass
class Expected:
    status: str
    compensations: list[str]
    failed_step: str | None = None
    failed_compensations: list[str] = field(default_factory=list)
    effects: set[str] = field(default_factory=set)  # forward steps whose work happened

    @property
    def workflow_status(self) -> str:
        # A compensated saga returns its result normally; only a failed compensation fails the run.
        return "FAILED" if self.status == FAILED else "COMPLETED"

    @property
    def charged(self) -> bool:
        return "charge" in self.effects

    @property
    def refunded(self) -> bool:
        return self.charged and "refund" in self.compensations

    @property
    def order_status(self) -> str | None:
        if "cancel_order" in self.compensations:
            return "CANCELLED"  # a cancel before (or without) create leaves a tombstone
        return "ACTIVE" if "create_order" in self.effects else None

    @property
    def shipment_status(self) -> str | None:
        if "create_shipment" not in self.effects:
            return None
        return "CANCELLED" if "cancel_shipment" in self.compensations else "CREATED"


def expect(plan: FaultPlan) -> Expected:
    """The end state the saga's rules promise for ``plan``.

    * A permanent fault is a business error: nothing was written, nothing to undo.
    * A transient fault fails before the work; a timeout fault does the work, then loses
      the reply. Either way Temporal retries (STEP_RETRY), and the idempotency key makes
      the retry return the first answer.
    * A step that ran out of attempts without a business error has an unknown outcome,
      so its undo is registered; a step that succeeded registers its undo too, except
      shipping, whose undo is only for an unknown outcome (nothing after it can fail).
    * Compensations run in reverse, retry transient trouble forever, and a permanent
      fault in one of them ends the saga FAILED (the others still run).
    """
    attempts = STEP_RETRY.maximum_attempts
    effects: set[str] = set()
    registered: list[str] = []
    failed_step = None
    for step in ACTIONS:
        fault = plan.for_step(step)
        if fault is not None and fault.kind == PERMANENT:
            failed_step = step
            break
        exhausted = fault is not None and fault.times >= attempts
        if fault is None or fault.kind == TIMEOUT or not exhausted:
            effects.add(step)
        if exhausted or step != "create_shipment":
            registered.append(UNDO[step])
        if exhausted:
            failed_step = step
            break
    if failed_step is None:
        return Expected(COMPLETED, [], effects=effects)
    done, failed = [], []
    for name in reversed(registered):
        fault = plan.for_step(name) if name in STEPS else None
        (failed if fault is not None and fault.kind == PERMANENT else done).append(name)
    return Expected(FAILED if failed else COMPENSATED, done, failed_step, failed, effects)


def plan_for(step: str, kind: str, times: int = 1) -> FaultPlan:
    faults = {step: Fault(kind, times)}
    if step not in ACTIONS:
        faults[FORCE_COMPENSATION[0]] = FORCE_COMPENSATION[1]
    return FaultPlan(faults)


def test_the_oracle_says_what_the_brief_says() -> None:
    """Pin the oracle to hand-written answers, so it cannot drift with the code under test."""
    cases = {
        (): (COMPLETED, []),
        (("create_shipment", PERMANENT, 1),): (COMPENSATED, ["cancel_order", "refund"]),
        (("charge", PERMANENT, 1),): (COMPENSATED, []),
        (("create_order", PERMANENT, 1),): (COMPENSATED, ["refund"]),
        (("charge", TIMEOUT, 1),): (COMPLETED, []),
        (("create_order", TRANSIENT, 1),): (COMPLETED, []),
        (("charge", TIMEOUT, 5),): (COMPENSATED, ["refund"]),
        (("create_shipment", PERMANENT, 1), ("refund", PERMANENT, 1)): (FAILED, ["cancel_order"]),
        (("create_shipment", PERMANENT, 1), ("cancel_order", PERMANENT, 1)): (FAILED, ["refund"]),
        (("create_shipment", PERMANENT, 1), ("refund", TIMEOUT, 1)): (COMPENSATED, ["cancel_order", "refund"]),
        (("create_shipment", TIMEOUT, 5),): (COMPENSATED, ["cancel_shipment", "cancel_order", "refund"]),
    }
    for faults, (status, compensations) in cases.items():
        got = expect(FaultPlan({step: Fault(kind, times) for step, kind, times in faults}))
        assert (got.status, got.compensations) == (status, compensations), faults
    assert expect(FaultPlan({"charge": Fault(TIMEOUT, 5)})).charged
    assert expect(FaultPlan({"charge": Fault(TIMEOUT, 5)})).order_status is None


# ------------------------------------------------------------------ fixtures and helpers


@pytest.fixture(scope="module")
async def client(session_server: server.ServerInfo) -> Client:
    return await connection.connect(session_server)


@pytest.fixture(scope="module", autouse=True)
async def workers(client: Client):
    running = await BackgroundWorkers(client).start()
    try:
        yield running
    finally:
        await running.stop()


async def result_of(handle: WorkflowHandle) -> OrderResult:
    return await asyncio.wait_for(order_result(handle), RESULT_TIMEOUT_S)


async def wait_for_progress(handle: WorkflowHandle, done: Callable[[Progress], bool], timeout: float = 15) -> Progress:
    """Poll the ``progress`` query until ``done`` says so (the first task may not have run yet)."""
    deadline = time.monotonic() + timeout
    last: Progress | str | None = None
    while time.monotonic() < deadline:
        try:
            last = await handle.query(OrderSagaWorkflow.progress)
        except RPCError as err:  # no workflow task completed yet
            last = str(err)
        else:
            if done(last):
                return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"progress of {handle.id} never matched; last seen: {last!r}")


def ledger_kinds(order_id: str) -> list[str]:
    return [entry.kind for entry in open_services().payment.ledger(order_id)]


def rows_mentioning(order_id: str) -> dict[str, int]:
    """Rows of every table of the three databases that name ``order_id`` (read with raw SQL,
    so it also works for an id the services would refuse to look up)."""
    home = config.home()
    tables = {
        "payment.db": ("ledger", "order_id"),
        "orders.db": ("orders", "order_id"),
        "shipping.db": ("shipments", "order_id"),
    }
    counts = {}
    for db, (table, column) in tables.items():
        with closing(sqlite3.connect(home / db)) as conn:
            counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (order_id,)).fetchone()[0]
            counts[f"{db}:idempotency"] = conn.execute(
                "SELECT COUNT(*) FROM idempotency WHERE request LIKE ? ESCAPE '\\'",
                (f'%"order_id":{_json_str(order_id)}%',),
            ).fetchone()[0]
    return counts


def _json_str(value: str) -> str:
    """``value`` as it appears in a stored request, escaped for LIKE."""
    return json.dumps(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def assert_end_state(client: Client, order_id: str, amount: int, exp: Expected, result: OrderResult) -> None:
    """The result, the workflow and the three databases all say what ``exp`` says."""
    assert result.order_id == order_id
    assert result.status == exp.status, result
    assert result.compensations == exp.compensations, result

    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == exp.workflow_status, shown

    services = open_services()
    kinds = ledger_kinds(order_id)
    assert kinds.count("charge") == (1 if exp.charged else 0), kinds
    assert kinds.count("refund") == (1 if exp.refunded else 0), kinds
    net = amount if exp.charged and not exp.refunded else 0
    assert services.payment.net(order_id) == net
    assert shown["payment"]["net"] == (net if exp.charged else None), shown
    assert shown["order"]["status"] == exp.order_status, shown
    assert shown["shipping"]["status"] == exp.shipment_status, shown

    if exp.status == COMPLETED:
        assert result.payment_id == f"pay-{order_id}-1"
        assert result.shipment_id == f"shp-{order_id}-1"
        assert result.error is None and result.failed_step is None
        assert net == amount and shown["payment"]["status"] == "CHARGED"
        assert [s.status for s in services.shipping.shipments(order_id)] == ["CREATED"]
    elif exp.status == COMPENSATED:
        assert net == 0
        assert shown["order"]["status"] in ("CANCELLED", None)
        assert result.shipment_id is None
        assert result.failed_step == exp.failed_step, result
        assert result.error and result.error.startswith(f"{exp.failed_step}: "), result
    else:
        assert exp.failed_compensations
        for name in exp.failed_compensations:
            assert name in (result.error or ""), result
        assert result.error.startswith("needs a person"), result
        assert result.failed_step == exp.failed_step, result


# ------------------------------------------------------------------ 1. every fault, every step

FAULT_CASES = [(step, kind, 1) for step in STEPS for kind in (TRANSIENT, PERMANENT, TIMEOUT)]
#: More timeouts than STEP_RETRY allows attempts: the charge happened, its outcome stays unknown.
LONG_TIMEOUT_CASE = ("charge", TIMEOUT, STEP_RETRY.maximum_attempts)


@dataclass
class Run:
    order_id: str
    amount: int
    plan: FaultPlan
    handle: WorkflowHandle
    _result: asyncio.Task | None = None

    async def result(self) -> OrderResult:
        if self._result is None:
            self._result = asyncio.ensure_future(result_of(self.handle))
        return await asyncio.shield(self._result)


@pytest.fixture(scope="module")
async def fault_runs(client: Client) -> dict[tuple[str, str, int], Run]:
    """Every fault case, started at once: their retries and timeouts overlap."""
    cases = [*FAULT_CASES, LONG_TIMEOUT_CASE]
    runs = {}
    for n, (step, kind, times) in enumerate(cases):
        order_id = oid(step.replace("_", ""), kind, str(times))
        amount = 1000 + n
        plan = plan_for(step, kind, times)
        runs[(step, kind, times)] = Run(order_id, amount, plan, None)  # type: ignore[arg-type]
    handles = await asyncio.gather(*(start_order(client, r.order_id, r.amount, r.plan) for r in runs.values()))
    for run, handle in zip(runs.values(), handles):
        run.handle = handle
    return runs


@pytest.mark.parametrize(("step", "kind", "times"), FAULT_CASES, ids=[f"{s}={k}" for s, k, _ in FAULT_CASES])
async def test_fault_ends_in_the_state_the_rules_say(client, fault_runs, step, kind, times) -> None:
    run = fault_runs[(step, kind, times)]
    exp = expect(run.plan)
    result = await run.result()
    await assert_end_state(client, run.order_id, run.amount, exp, result)


# ------------------------------------------------------------------ 2. and 3. idempotent placing


async def test_the_same_order_placed_twice_at_once_charges_once(client) -> None:
    order_id = oid("twice")
    first, second = await asyncio.wait_for(
        asyncio.gather(place_order(client, order_id, 2500), place_order(client, order_id, 2500)), RESULT_TIMEOUT_S
    )
    assert first == second
    assert first.status == COMPLETED
    assert ledger_kinds(order_id) == ["charge"]
    await assert_end_state(client, order_id, 2500, expect(FaultPlan()), first)


async def test_the_same_order_placed_after_it_completed_returns_the_first_result(client) -> None:
    order_id = oid("again")
    first = await asyncio.wait_for(place_order(client, order_id, 2600), RESULT_TIMEOUT_S)
    assert first.status == COMPLETED
    run_id = (await client.get_workflow_handle(order_id).describe()).run_id
    again = await asyncio.wait_for(place_order(client, order_id, 2600), RESULT_TIMEOUT_S)
    assert again == first
    assert ledger_kinds(order_id) == ["charge"]
    assert (await client.get_workflow_handle(order_id).describe()).run_id == run_id  # no second run


# ------------------------------------------------------------------ 4. the naive workflow


async def test_naive_workflow_leaves_the_customer_charged_for_an_order_never_shipped(client) -> None:
    order_id = oid("naive")
    result = await asyncio.wait_for(
        place_order(client, order_id, 2700, FaultPlan({"create_shipment": Fault(PERMANENT)}), naive=True),
        RESULT_TIMEOUT_S,
    )
    assert result.status == FAILED
    assert result.failed_step == "create_shipment"
    assert result.payment_id == f"pay-{order_id}-1"
    assert result.compensations == []
    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == "FAILED"
    assert shown["payment"] == {"status": "CHARGED", "amount": 2700, "net": 2700}
    assert shown["order"]["status"] == "ACTIVE"
    assert shown["shipping"]["status"] is None
    assert ledger_kinds(order_id) == ["charge"]


# ------------------------------------------------------------------ 5. and 6. cancelling during the hold


async def test_cancel_order_update_during_the_hold_compensates(client) -> None:
    order_id = oid("upd-cancel")
    handle = await start_order(client, order_id, 2800, hold_seconds=30)
    seen = await wait_for_progress(handle, lambda p: p.current_step == "hold")
    assert seen == Progress(order_id, "hold", ["charge", "create_order"], [], False, None)

    answer = await handle.execute_update(OrderSagaWorkflow.cancel_order, "changed my mind")
    assert order_id in answer
    result = await result_of(handle)
    kinds = [e.event_type async for e in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_TIMER_CANCELED in kinds  # the hold ended early, it did not run its 30 s
    assert EventType.EVENT_TYPE_TIMER_FIRED not in kinds

    assert result.status == COMPENSATED
    assert result.compensations == ["cancel_order", "refund"]
    assert result.error == "cancelled by the customer: changed my mind"
    assert result.failed_step == "hold"
    assert result.payment_id == f"pay-{order_id}-1" and result.shipment_id is None
    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == "COMPLETED"
    assert shown["payment"] == {"status": "REFUNDED", "amount": 2800, "net": 0}
    assert shown["order"]["status"] == "CANCELLED"
    assert shown["shipping"]["status"] is None
    assert ledger_kinds(order_id) == ["charge", "refund"]

    after = await handle.query(OrderSagaWorkflow.progress)
    assert after.cancel_requested == "changed my mind"
    assert after.compensations_done == ["cancel_order", "refund"]


async def test_cancel_order_update_while_shipping_is_refused(client) -> None:
    """Once the shipment is being booked it is too late: the update is rejected, the order ships."""
    order_id = oid("upd-late")
    handle = await start_order(client, order_id, 2850, FaultPlan({"create_shipment": Fault(TIMEOUT)}))
    await wait_for_progress(handle, lambda p: p.current_step == "create_shipment")
    with pytest.raises(WorkflowUpdateFailedError) as raised:
        await handle.execute_update(OrderSagaWorkflow.cancel_order, "too late?")
    assert "too late to cancel" in str(raised.value.cause)
    result = await result_of(handle)
    await assert_end_state(client, order_id, 2850, expect(FaultPlan()), result)


async def test_workflow_cancellation_during_the_hold_still_compensates(client) -> None:
    order_id = oid("wf-cancel")
    handle = await start_order(client, order_id, 2900, hold_seconds=30)
    await wait_for_progress(handle, lambda p: p.current_step == "hold")
    await handle.cancel()

    with pytest.raises(WorkflowFailureError) as raised:
        await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    assert isinstance(raised.value.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED

    result = await result_of(handle)
    assert result.status == COMPENSATED
    assert result.compensations == ["cancel_order", "refund"]
    progress = await handle.query(OrderSagaWorkflow.progress)
    assert result.compensations == progress.compensations_done
    assert result.failed_step == "hold"

    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == "CANCELED"
    assert shown["payment"] == {"status": "REFUNDED", "amount": 2900, "net": 0}
    assert shown["order"]["status"] == "CANCELLED"
    assert shown["shipping"]["status"] is None
    assert ledger_kinds(order_id) == ["charge", "refund"]


@pytest.mark.parametrize("step", ACTIONS)
async def test_a_workflow_cancel_while_a_slow_step_runs_undoes_the_order(client, step) -> None:
    """The cancel lands while the step sleeps (a ``slow`` fault); the step then completes."""
    order_id = oid("slow-cancel", step.replace("_", ""))
    handle = await start_order(client, order_id, 3100, FaultPlan({step: Fault(SLOW, seconds=1.5)}))
    await wait_for_progress(handle, lambda p: p.current_step == step)
    await handle.cancel()
    with pytest.raises(WorkflowFailureError) as raised:
        await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    assert isinstance(raised.value.cause, CancelledError)
    done = ACTIONS[: ACTIONS.index(step) + 1]
    assert (await handle.query(OrderSagaWorkflow.progress)).compensations_done == [UNDO[s] for s in reversed(done)]
    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == "CANCELED"
    assert shown["payment"] == {"status": "REFUNDED", "amount": 3100, "net": 0}
    assert shown["order"]["status"] == ("CANCELLED" if "create_order" in done else None)
    assert shown["shipping"]["status"] == ("CANCELLED" if "create_shipment" in done else None)


# ------------------------------------------------------------------ 7. parallel compensation


async def test_parallel_compensation_undoes_both_steps(client) -> None:
    order_id = oid("parallel")
    plan = FaultPlan({"create_shipment": Fault(PERMANENT)})
    result = await asyncio.wait_for(
        place_order(client, order_id, 3000, plan, parallel_compensation=True), RESULT_TIMEOUT_S
    )
    assert result.status == COMPENSATED
    assert sorted(result.compensations) == ["cancel_order", "refund"]
    exp = expect(plan)
    exp.compensations = result.compensations  # any order: they ran at once
    await assert_end_state(client, order_id, 3000, exp, result)


# ------------------------------------------------------------------ 8. bad input reaches nothing

BAD_INPUT = [
    ("amount-zero", 0, InvalidAmount),
    ("amount-negative", -1, InvalidAmount),
    ("amount-too-big", 10**9, InvalidAmount),
    ("amount-float", 12.5, InvalidAmount),
    ("amount-bool", True, InvalidAmount),
    ("", 1000, InvalidOrderId),
    ("a b", 1000, InvalidOrderId),
]


@pytest.mark.parametrize(("name", "amount", "error"), BAD_INPUT, ids=[repr(n) for n, _, _ in BAD_INPUT])
async def test_bad_input_is_refused_before_anything_starts(client, name, amount, error) -> None:
    order_id = oid(name) if name.startswith("amount-") else name
    with pytest.raises(error) as raised:
        await start_order(client, order_id, amount)
    assert isinstance(raised.value, InvalidRequest)

    with pytest.raises(RPCError):
        await client.get_workflow_handle(order_id).describe()
    assert await workflow_status(client, order_id) is None
    assert all(count == 0 for count in rows_mentioning(order_id).values()), rows_mentioning(order_id)
    if error is InvalidAmount:
        shown = await show_order(client, order_id)
        assert shown["workflow"] == {"status": None}
        assert shown["payment"] == {"status": None, "amount": None, "net": None}
        assert shown["order"] == {"status": None} and shown["shipping"] == {"status": None}


# ------------------------------------------------------------------ 1b. the long timeout (last: it overlaps the rest)


async def test_charge_that_times_out_on_every_attempt_is_refunded(client, fault_runs) -> None:
    """5 lost replies: the charge happened but the saga cannot know, so it refunds anyway."""
    run = fault_runs[LONG_TIMEOUT_CASE]
    exp = expect(run.plan)
    assert (exp.status, exp.compensations, exp.charged) == (COMPENSATED, ["refund"], True)
    result = await run.result()
    assert result.payment_id is None
    assert "timeout" in (result.error or "").lower(), result
    await assert_end_state(client, run.order_id, run.amount, exp, result)
    assert ledger_kinds(run.order_id) == ["charge", "refund"]


async def test_a_business_deadline_compensates_where_a_run_timeout_would_not(client):
    """Past its deadline the saga undoes itself and completes: nothing is left half done."""
    order_id = oid("deadline")
    result = await place_order(client, order_id, 700, hold_seconds=30, deadline_seconds=1)
    assert result.status == "COMPENSATED"
    assert result.compensations == ["cancel_order", "refund"]
    assert "deadline" in result.error
    state = await show_order(client, order_id)
    assert state["workflow"]["status"] == "COMPLETED"
    assert (state["payment"]["net"], state["order"]["status"], state["shipping"]["status"]) == (0, "CANCELLED", None)


async def test_cancelling_a_saga_with_a_deadline_still_compensates_and_ends_cancelled(client):
    handle = await start_order(client, oid("deadline-cancel"), 800, hold_seconds=30, deadline_seconds=60)
    assert await wait_for_step(client, handle.id, "hold")
    await handle.cancel()
    result = await order_result(handle)
    assert result.status == "COMPENSATED" and result.compensations == ["cancel_order", "refund"]
    state = await show_order(client, handle.id)
    assert state["workflow"]["status"] == "CANCELED"
    assert state["payment"]["net"] == 0


# ------------------------------------------------------------------ 8. stopping a run at a deadline


async def test_a_deadline_terminates_a_run_still_going_and_never_one_that_ended(client) -> None:
    """Every exercise check stops runs at a deadline; a run that ends meanwhile must not make it fail."""
    slow = await start_order(client, oid("deadline", "slow"), 3200, FaultPlan({"charge": Fault(SLOW, seconds=5)}))
    assert not await ended_within(slow, 0.5, "the test's deadline")
    assert (await slow.describe()).status.name == "TERMINATED"
    last = [event async for event in slow.fetch_history_events()][-1]  # the reason is the reason, not a detail
    assert last.workflow_execution_terminated_event_attributes.reason == "the test's deadline"
    assert not await terminate_if_running(slow, "again")  # it is not running: nothing to do, no error

    quick = await start_order(client, oid("deadline", "quick"), 3300)
    assert await ended_within(quick, RESULT_TIMEOUT_S, "the test's deadline")
    assert (await quick.describe()).status.name == "COMPLETED"
    assert not await terminate_if_running(quick, "after it ended")
    assert (await quick.describe()).status.name == "COMPLETED"

    refused = await start_order(client, oid("deadline", "declined"), 3400, plan_for("charge", "permanent"))
    assert await ended_within(refused, RESULT_TIMEOUT_S, "the test's deadline")  # ended, and not well
    assert (await refused.describe()).status.name != "TERMINATED"


# ------------------------------------------------------------------ 9. a stop meets a failure (issue 18)


@pytest.mark.parametrize("deadline", [0, 120], ids=["no-deadline", "with-deadline"])
async def test_a_cancel_during_the_hold_with_an_undo_that_fails_for_good_ends_failed(client, deadline) -> None:
    """A failed undo wins over every other outcome: FAILED, a person must act, the money still there is shown."""
    order_id = oid("cancel-refund-fails", str(deadline))
    plan = FaultPlan({"refund": Fault(PERMANENT)})
    handle = await start_order(client, order_id, 4999, plan, hold_seconds=20, deadline_seconds=deadline)
    assert await wait_for_step(client, order_id, "hold")
    await handle.cancel()
    result = await result_of(handle)
    assert (result.status, result.compensations, result.failed_compensations) == (FAILED, ["cancel_order"], ["refund"])
    assert result.error.startswith("needs a person: 1 of 2 compensations failed: refund ("), result
    assert result.failed_step == "hold"
    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == "FAILED"
    assert shown["payment"] == {"status": "CHARGED", "amount": 4999, "net": 4999}  # what the person must refund
    assert shown["order"]["status"] == "CANCELLED"


#: How the saga ends when a stop lands while ``create_order`` runs and its attempt then times out (``slow:3``:
#: each attempt outlives the 2 s timeout). Temporal does not retry an attempt after a cancel: the workflow
#: sees the timeout, and must still say that the stop, not the timeout, ended the saga.
STOPPED_MID_STEP = {
    "cancel": ("CANCELED", "the workflow was cancelled during create_order"),
    "deadline": ("COMPLETED", "the business deadline passed during create_order: the order was undone"),
    "customer": ("COMPLETED", "cancelled by the customer: changed my mind"),
}


@pytest.mark.parametrize("stop", STOPPED_MID_STEP)
async def test_a_stop_while_a_step_times_out_is_what_ends_the_saga(client, stop) -> None:
    order_id = oid("stop-timeout", stop)
    plan = FaultPlan({"create_order": Fault(SLOW, seconds=3)})
    handle = await start_order(client, order_id, 3500, plan, deadline_seconds=1 if stop == "deadline" else 0)
    if stop != "deadline":
        assert await wait_for_step(client, order_id, "create_order")
        if stop == "cancel":
            await handle.cancel()
        else:
            await handle.execute_update(OrderSagaWorkflow.cancel_order, "changed my mind")
    result = await result_of(handle)
    run_status, error = STOPPED_MID_STEP[stop]
    assert (result.status, result.error, result.failed_step) == (COMPENSATED, error, "create_order"), result
    assert result.compensations == ["cancel_order", "refund"]
    shown = await show_order(client, order_id)
    assert shown["workflow"]["status"] == run_status
    assert shown["payment"] == {"status": "REFUNDED", "amount": 3500, "net": 0}
    assert shown["order"]["status"] == "CANCELLED"  # the slow create lands after its undo, and is refused
