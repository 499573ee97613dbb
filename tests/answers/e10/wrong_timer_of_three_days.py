# NOT YET naming "ships the order first": it finds a 3-day timer, not that the shipment waited for it
"""A learner's e10: a TimerStarted of three days is the hold."""

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
    timers = [e.seconds for e in history.events(await handle.fetch_history()) if e.kind == "TimerStarted"]
    assert timedelta(days=3).total_seconds() in timers
