"""A bug in a saga's body is not a failure: nothing is undone, the run waits, and after the fix it carries on.

The saga (``notebooks/demos/typo_saga.py``) charges, registers the refund, then hits a typo
(``"charged " + order.amount``: a ``TypeError``). It runs on the session's real dev server, on
the real payment and order services, with its worker in a process of its own, as notebook 05
shows it (:class:`demos.sagas.PlantedBug`): the file is fixed and the worker restarted, and
the *same* run completes.
"""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import WorkflowExecutionStatus

from demos.sagas import PlantedBug
from saga_lab import connection, history
from saga_lab.checkout import end_state
from saga_lab.services import open_services

#: Real seconds: the failed task is retried with a growing pause, a few seconds here.
RESULT_TIMEOUT_S = 60


async def test_a_typo_undoes_nothing_waits_and_the_same_run_completes_after_the_fix(session_server):
    client = await connection.connect(session_server)
    order_id = f"bug-{uuid.uuid4().hex[:6]}"
    bug = PlantedBug(client)
    try:
        assert bug.line == 'receipt = "charged " + order.amount + " cents for " + order_id'
        bug.start_worker()
        handle = await bug.start(order_id)
        assert await bug.task_failure(handle) == 'can only concatenate str (not "int") to str'
        await asyncio.sleep(1.0)  # the task is retried meanwhile, and fails again
        description = await handle.describe()
        assert description.status == WorkflowExecutionStatus.RUNNING
        assert [a.name for a in history.activities(await handle.fetch_history())] == ["charge"]  # no refund
        state = await end_state(client, order_id)
        assert (state["workflow"], state["payment"], state["net"], state["order"]) == ("RUNNING", "CHARGED", 4999, None)

        bug.fix()
        bug.restart_worker()
        receipt = await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    finally:
        bug.close()
    assert receipt == f"charged 4999 cents for {order_id}"
    after = await handle.describe()
    assert after.status == WorkflowExecutionStatus.COMPLETED and after.run_id == description.run_id  # the same run
    records = history.events(await handle.fetch_history())
    assert "WorkflowTaskFailed" in [e.kind for e in records]
    assert [a.name for a in history.activities(await handle.fetch_history())] == ["charge", "create_order"]
    assert [entry.kind for entry in open_services().payment.ledger(order_id)] == ["charge"]  # never refunded
    state = await end_state(client, order_id)
    assert [state[key] for key in ("workflow", "payment", "net", "order")] == ["COMPLETED", "CHARGED", 4999, "ACTIVE"]
