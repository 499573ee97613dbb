"""The services' activities as a learner may copy them, and the faults the lab wraps around them.

* They are plain ``def`` over blocking SQLite, run on the worker's thread pool
  (``saga_lab.worker.activity_executor``): the worker's event loop stays free.
* A service's refusal is final where it is raised: under Temporal's *default* retry policy
  a declined card is attempted once, on the real dev server. The notebook 04 demo's
  ``ProviderCharge``, which answers without marking it final, is retried: the other way.
* A ``late`` attempt's work lands when its retry policy says the caller has given up on
  the step, plus one timeout; the estimate ``LATE_AFTER_S`` holds for the saga's policy.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.worker import Worker

from demos.timeouts import ChargeCall, ChargeWorkflow, ProviderCharge
from saga_lab import connection, faults, history
from saga_lab.activities import OrderActivities, PaymentActivities, ShippingActivities
from saga_lab.checkout import place_order
from saga_lab.faults import LATE_AFTER_S, Fault, FaultInjector, FaultPlan, late_work_lands_at, read_journal
from saga_lab.services import open_services
from saga_lab.worker import BackgroundWorkers, activity_executor
from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT


@pytest.fixture(scope="module")
async def client(session_server) -> Client:
    return await connection.connect(session_server)


# ---------------------------------------------------------------- plain def, on threads


def test_the_service_activities_are_plain_def():
    methods = [
        PaymentActivities.charge,
        PaymentActivities.refund,
        OrderActivities.create_order,
        OrderActivities.cancel_order,
        ShippingActivities.create_shipment,
        ShippingActivities.cancel_shipment,
    ]
    assert not any(inspect.iscoroutinefunction(method) for method in methods)


async def test_slow_service_calls_run_on_the_thread_pool_and_leave_the_event_loop_free(client):
    """Three sagas whose create_order sleeps 1 s in its thread: a 20 ms ticker on the loop never lags."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.02)
            lags.append(time.monotonic() - before - 0.02)

    plan = FaultPlan({"create_order": Fault("slow", seconds=1.0)})
    async with BackgroundWorkers(client, ("payment", "order", "shipping", "workflow")) as workers:
        services = [w for w in workers._workers if w.task_queue != connection.task_queue(client, "workflow")]
        assert [w.config()["activity_executor"] for w in services] == [activity_executor()] * 3
        ticking = asyncio.create_task(ticker())
        orders = [f"loop-{uuid.uuid4().hex[:6]}" for _ in range(3)]
        results = await asyncio.gather(*(place_order(client, order_id, 100, plan) for order_id in orders))
        stop.set()
        await ticking
    assert [r.status for r in results] == ["COMPLETED"] * 3
    assert max(lags) < 0.5, f"the event loop was held up {max(lags):.2f} s"


# ---------------------------------------------------------------- refusals are final


async def _charge_attempts(client: Client, activity, call: ChargeCall) -> int:
    queue = f"activities-{uuid.uuid4().hex[:6]}"
    async with Worker(
        client,
        task_queue=queue,
        workflows=[ChargeWorkflow],
        activities=[activity],
        activity_executor=activity_executor(),
    ):
        with pytest.raises(WorkflowFailureError):
            await asyncio.wait_for(
                client.execute_workflow(ChargeWorkflow.run, call, id=call.order_id, task_queue=queue), 30
            )
        runs = history.activities(await client.get_workflow_handle(call.order_id).fetch_history())
    return runs[0].attempts


async def test_a_declined_card_under_the_default_retry_policy_is_attempted_once(client):
    payments = PaymentActivities(open_services().payment)
    call = ChargeCall(f"declined-{uuid.uuid4().hex[:6]}", fault=Fault("permanent"), start_to_close=2)
    assert call.retry is None  # Temporal's default policy: retry forever, every error type
    assert await _charge_attempts(client, payments.charge, call) == 1


async def test_a_decline_not_marked_final_is_retried_under_the_default_policy(client):
    """The other way: notebook 04's provider-style charge says no without saying it is final."""
    charge = ProviderCharge(PaymentActivities(open_services().payment)).charge
    call = ChargeCall(
        f"provider-{uuid.uuid4().hex[:6]}", fault=Fault("permanent"), start_to_close=2, schedule_to_close=3
    )
    assert await _charge_attempts(client, charge, call) >= 2


# ---------------------------------------------------------------- late work


def test_late_work_lands_one_timeout_after_the_retry_policy_gives_up():
    timeout = STEP_TIMEOUT.total_seconds()
    # 5 attempts of 2 s and back-offs of 0.2, 0.4, 0.8 and 1.0 s: the saga gives up at 12.4 s.
    assert late_work_lands_at(1, 100.0, timeout, STEP_RETRY) == pytest.approx(100.0 + 12.4 + 2.0)
    assert late_work_lands_at(5, 100.0, timeout, STEP_RETRY) == pytest.approx(100.0 + 2.0 + 2.0)  # the last attempt
    assert late_work_lands_at(3, 100.0, timeout, STEP_RETRY) == pytest.approx(100.0 + 2 + 0.8 + 2 + 1.0 + 2 + 2.0)
    unlimited = RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=0)
    assert late_work_lands_at(4, 100.0, timeout, unlimited) == pytest.approx(100.0 + 2.0 + 2.0)
    assert late_work_lands_at(1, 100.0, timeout, None) == pytest.approx(104.0)  # an old server sends no policy


def test_the_late_estimate_holds_for_the_saga_steps():
    lands = late_work_lands_at(1, 0.0, STEP_TIMEOUT.total_seconds(), STEP_RETRY)
    assert lands <= LATE_AFTER_S < lands + 1.0


def test_the_journal_counts_late_work_lost_with_its_process(tmp_path):
    journal = tmp_path / "late-work.log"
    journal.write_text(
        "11 held o1 charge 1\n11 held o2 refund 1\n11 landed o1 charge 1 done\n"
        "12 held o2 refund 1\n12 landed o2 refund 1 refused\n"
    )
    assert read_journal(journal) == {"held": 3, "landed": 2, "lost": 1}  # process 11 died holding o2's refund
    assert read_journal(tmp_path / "none.log") == {"held": 0, "landed": 0, "lost": 0}


def test_late_work_held_by_two_workers_lands_after_the_latest_attempt_either_saw(tmp_path, monkeypatch):
    """Two workers on one task queue (two processes: two injectors) each hold an attempt of one step.
    The first must not land on its own estimate, which assumed the second attempt would start on
    time: here it started 1 s late, as on a busy machine. This isolates the timing: the attempts'
    ``activity.info()`` is built by hand; the CLI test runs it for real, three processes at once."""
    monkeypatch.setattr(faults, "LATE_DIR", tmp_path)
    policy = RetryPolicy(initial_interval=timedelta(seconds=0.1), backoff_coefficient=1, maximum_attempts=2)
    began = time.time()

    def attempt(n: int, started: float) -> SimpleNamespace:
        return SimpleNamespace(
            workflow_run_id="run-1",
            workflow_id="ord-1",
            activity_id="3",
            attempt=n,
            started_time=datetime.fromtimestamp(started, UTC),
            start_to_close_timeout=timedelta(seconds=0.5),
            retry_policy=policy,
        )

    first_lands_on_its_own = late_work_lands_at(1, began, 0.5, policy)  # began + 0.5 + 0.1 + 0.5 + 0.5
    second_began = began + 1.5  # 1 s after the policy's schedule
    second_lands = late_work_lands_at(2, second_began, 0.5, policy)  # began + 2.5
    landed: dict[str, float] = {}

    def land(who: str) -> None:
        landed[who] = time.time()

    first = threading.Thread(
        target=FaultInjector()._hold, args=("create_shipment", attempt(1, began), land, ("first",))
    )
    first.start()
    time.sleep(second_began - time.time())
    second_worker = FaultInjector()
    second_worker._hold("create_shipment", attempt(2, second_began), land, ("second",))
    first.join(5)
    assert landed["first"] >= second_lands - 0.05 > first_lands_on_its_own + 0.8, (landed, second_lands)
    assert landed["second"] >= second_lands - 0.05
    assert list(tmp_path.iterdir()) == []  # the last landing took the shared note away


def test_a_shared_landing_long_past_is_forgotten_by_the_next_late_attempt(tmp_path, monkeypatch):
    """A worker killed while it held late work leaves its note behind; the next late attempt on the
    machine removes notes whose landing is over a minute past (and a draft a kill tore), not others."""
    monkeypatch.setattr(faults, "LATE_DIR", tmp_path)
    now = time.time()
    (tmp_path / "killed-worker").write_text(f"2 {now - 61!r}")
    (tmp_path / "just-landed").write_text(f"1 {now - 5!r}")
    (tmp_path / "torn.123.456").write_text("")
    os.utime(tmp_path / "torn.123.456", (now - 120, now - 120))
    faults._share_latest(("run-2", "1"), 1, now + 10)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["just-landed", faults._late_file(("run-2", "1")).name]
    )


async def test_a_late_charge_lands_after_its_refund_and_is_reversed(client):
    """``charge=late:5`` (the README's ORD-5): the saga refunds first; the charge lands ~2 s later, reversed."""
    order_id = f"late-{uuid.uuid4().hex[:6]}"
    async with BackgroundWorkers(client) as workers:
        result = await asyncio.wait_for(place_order(client, order_id, 4250, FaultPlan.parse(["charge=late:5"])), 60)
        refunded_at = datetime.now(UTC)
        assert workers.faults.late_work_in_flight == 5
        assert await asyncio.to_thread(workers.faults.wait_for_late_work) == 0
    assert (result.status, result.compensations) == ("COMPENSATED", ["refund"])
    payments = open_services().payment
    kinds = [row.kind for row in payments.ledger(order_id)]
    assert kinds == ["charge", "refund"] and payments.net(order_id) == 0  # reversed at once: "compensation wins"
    assert payments.ledger(order_id)[0].created_at > refunded_at.isoformat(timespec="milliseconds")
