"""Exercise 10 · a test of a three-day hold, solved. Try it yourself first.

Three assertions, each for a different way the hold could be wrong: the run ended
well; the shipment was asked for only three days (of the server's clock) after the run
began, which fails when the hold is skipped, too short, or comes after the shipment;
and the test took seconds, not days, of real time.
"""

from __future__ import annotations

import time
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from saga_lab import history
from saga_lab.checkout import new_order_id, order_result
from saga_lab.config import WORKFLOW_TASK_QUEUE
from saga_lab.workflows import COMPLETED, OrderInput, OrderSagaWorkflow

THREE_DAYS = timedelta(days=3)


async def test_the_order_ships_after_a_three_day_hold(env: WorkflowEnvironment) -> None:
    order = OrderInput(new_order_id("ex10-hold"), 4999, hold_seconds=THREE_DAYS.total_seconds())
    began = time.monotonic()
    handle = await env.client.start_workflow(
        OrderSagaWorkflow.run, order, id=order.order_id, task_queue=WORKFLOW_TASK_QUEUE
    )
    result = await order_result(handle)  # waiting for the result lets the server skip the hold
    assert result.status == COMPLETED, result.error

    started = (await handle.describe()).start_time
    shipment = next(run for run in history.activities(await handle.fetch_history()) if run.name == "create_shipment")
    waited = shipment.scheduled_at - started
    assert waited >= THREE_DAYS, f"the shipment was asked for {waited} after the start, before the hold was over"
    assert time.monotonic() - began < 30, "the test waited in real time: the hold was not skipped"
