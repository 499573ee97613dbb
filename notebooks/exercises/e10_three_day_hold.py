"""Exercise 10 · a test of a three-day hold, on Temporal's time-skipping test server.

``OrderSagaWorkflow`` can hold an order (``hold_seconds``, a cooling-off period) before
it ships it. Write the test that proves the hold works.

TODO: the test passes on the real workflow, whose order ships only once three days have
passed on the server's clock; it fails, and does not hang, on any workflow whose hold is
skipped, shorter by any amount, or comes after the shipment; and it does not wait three
days of yours.

The check in notebook 10 calls your test with ``env``, a time-skipping
``WorkflowEnvironment`` in which a worker already runs the workflow on
``WORKFLOW_TASK_QUEUE``, and mocks of the six activities answer (no faults, no
databases), as in section 2 of the notebook. It runs your test on the real workflow,
where it must pass, and on workflows whose hold is broken, where it must fail.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from saga_lab import history  # noqa: F401  (the history as records: history.events, history.activities)
from saga_lab.checkout import new_order_id, order_result  # noqa: F401
from saga_lab.config import WORKFLOW_TASK_QUEUE  # noqa: F401
from saga_lab.workflows import COMPLETED, OrderInput, OrderSagaWorkflow  # noqa: F401

THREE_DAYS = timedelta(days=3)


async def test_the_order_ships_after_a_three_day_hold(env: WorkflowEnvironment) -> None:
    order = OrderInput(new_order_id("ex10-hold"), 4999, hold_seconds=THREE_DAYS.total_seconds())  # noqa: F841
    # TODO: run the saga for `order` on the env's server, and assert what only a real
    # three-day hold before the shipment makes true
