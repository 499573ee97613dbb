"""Notebook 06's demo: a workflow cancelled while its step runs, and when the step's undo may run.

:class:`ChargeThenRefundWorkflow` charges through the payment service's real ``charge``
activity, slowed by a ``slow`` fault, with the activity cancellation type its input names.
When the workflow is cancelled it refunds and ends ``CANCELED``. :func:`cancel_during_charge`
cancels it while the charge runs and reads, from the history and the payment ledger, whether
the refund ran before or after the charge landed.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from saga_lab import history
    from saga_lab.activities import PaymentActivities
    from saga_lab.connection import task_queue, workflow_id
    from saga_lab.faults import SLOW, Fault
    from saga_lab.models import ChargeInput, RefundInput
    from saga_lab.services import open_services

    from .workers import CountingFaults, KernelWorker

#: The charge sleeps this long before it charges: long enough to cancel the workflow meanwhile.
SLOW_CHARGE_S = 2.0


@dataclass
class ChargeThenRefund:
    order_id: str
    #: ``TRY_CANCEL`` (the SDK's default), ``WAIT_CANCELLATION_COMPLETED`` or ``ABANDON``.
    cancellation_type: str = "TRY_CANCEL"


@workflow.defn
class ChargeThenRefundWorkflow:
    """Charge; when the workflow is cancelled, refund (after the charge, or while it still runs)."""

    @workflow.run
    async def run(self, call: ChargeThenRefund) -> str:
        key = workflow.info().workflow_id
        try:
            await workflow.execute_activity_method(
                PaymentActivities.charge,
                ChargeInput(call.order_id, 4999, f"{key}:charge", Fault(SLOW, seconds=SLOW_CHARGE_S)),
                start_to_close_timeout=timedelta(seconds=10),
                cancellation_type=workflow.ActivityCancellationType[call.cancellation_type],
            )
        except (ActivityError, asyncio.CancelledError):
            pass  # the step was cancelled: with TRY_CANCEL, at once, while the charge still runs
        if workflow.cancellation_reason() is None:
            return "charged"
        # The cancel has been delivered (once): this await is not cancelled again.
        await workflow.execute_activity_method(
            PaymentActivities.refund,
            RefundInput(call.order_id, f"{key}:refund"),
            start_to_close_timeout=timedelta(seconds=10),
        )
        raise asyncio.CancelledError("cancelled during the charge; refunded")


async def cancel_during_charge(client: Client, order_id: str, cancellation_type: str) -> dict:
    """Cancel the workflow half a second into its charge; one row: when the refund ran, and the money."""
    faults = CountingFaults()
    payments = open_services().payment
    activities = PaymentActivities(payments, faults)
    queue = task_queue(client, f"nb06-cancel-{uuid.uuid4().hex[:6]}")
    worker = KernelWorker(client, queue, [ChargeThenRefundWorkflow], [activities.charge, activities.refund], faults)
    async with worker:
        handle = await client.start_workflow(
            ChargeThenRefundWorkflow.run,
            ChargeThenRefund(order_id, cancellation_type),
            id=workflow_id(client, order_id),
            task_queue=queue,
        )
        while not faults.in_flight:  # the charge has started
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        await handle.cancel()
        try:
            await handle.result()
        except WorkflowFailureError:
            pass  # CANCELED, as it should
        await worker.settled()  # the charge lands, whatever the workflow did
    refund = next(run for run in history.activities(await handle.fetch_history()) if run.name == "refund")
    charged = next(entry for entry in payments.ledger(order_id) if entry.kind == "charge")
    landed = datetime.fromisoformat(charged.created_at)
    return {
        "cancellation_type": cancellation_type,
        "the refund ran": "before the charge landed" if refund.closed_at < landed else "after the charge landed",
        "ledger": ", ".join(f"{entry.kind} {entry.amount}" for entry in payments.ledger(order_id)),
        "net": payments.net(order_id),
        "run": (await handle.describe()).status.name,
    }
