# NOT YET naming "did not end", "skips the hold": it waits for the timer to fire instead of asserting it
"""A learner's e10: poll the history until the timer has fired."""

from __future__ import annotations

import asyncio
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
    while True:
        records = history.events(await handle.fetch_history())
        fired = [e for e in records if e.kind == "TimerFired"]
        if fired:
            break
        await asyncio.sleep(0.5)
    shipment = next(e for e in records if e.kind == "ActivityTaskScheduled" and e.name == "create_shipment")
    assert shipment.time >= fired[0].time
    assert [e.seconds for e in records if e.kind == "TimerStarted"] == [timedelta(days=3).total_seconds()]
