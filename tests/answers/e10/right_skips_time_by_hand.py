# PASS: it moves the server's clock by hand: nothing shipped a minute before the hold ends, shipped after
"""A learner's e10: env.sleep to just before the end of the hold, look, then let the run finish."""

from __future__ import annotations

from datetime import timedelta

from saga_lab import history
from saga_lab.checkout import new_order_id, order_result
from saga_lab.config import WORKFLOW_TASK_QUEUE
from saga_lab.workflows import COMPLETED, OrderInput, OrderSagaWorkflow


def shipments(records) -> list:
    return [run for run in history.activity_runs(records) if run.name == "create_shipment"]


async def test_the_order_ships_after_a_three_day_hold(env) -> None:
    order = OrderInput(new_order_id("ex10-hold"), 4999, hold_seconds=timedelta(days=3).total_seconds())
    handle = await env.client.start_workflow(
        OrderSagaWorkflow.run, order, id=order.order_id, task_queue=WORKFLOW_TASK_QUEUE
    )
    await env.sleep(timedelta(days=3) - timedelta(minutes=1))
    assert not shipments(history.events(await handle.fetch_history())), "shipped before the hold was over"
    result = await order_result(handle)
    assert result.status == COMPLETED
    assert shipments(history.events(await handle.fetch_history())), "never shipped"
