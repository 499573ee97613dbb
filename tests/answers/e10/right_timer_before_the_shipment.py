# PASS: from the history alone: a timer of three days fired, and the shipment was scheduled after it
"""A learner's e10: the hold's timer, and the order of events around it."""

from __future__ import annotations

from datetime import timedelta

from saga_lab import history
from saga_lab.checkout import new_order_id, order_result
from saga_lab.config import WORKFLOW_TASK_QUEUE
from saga_lab.workflows import OrderInput, OrderSagaWorkflow


async def test_the_order_ships_after_a_three_day_hold(env) -> None:
    order = OrderInput(new_order_id("ex10-hold"), 4999, hold_seconds=timedelta(days=3).total_seconds())
    handle = await env.client.start_workflow(
        OrderSagaWorkflow.run, order, id=order.order_id, task_queue=WORKFLOW_TASK_QUEUE
    )
    await order_result(handle)
    records = history.events(await handle.fetch_history())
    hold = next(e for e in records if e.kind == "TimerStarted")
    fired = next(e for e in records if e.kind == "TimerFired" and e.key == hold.key)
    shipment = next(e for e in records if e.kind == "ActivityTaskScheduled" and e.name == "create_shipment")
    assert hold.seconds >= timedelta(days=3).total_seconds()
    assert fired.event_id < shipment.event_id
