# PASS: the key names the order's charge by its order id; the workflow calls the activity by its name
"""A learner's e07: the key from the order id; the workflow calls the activity by its name."""

from __future__ import annotations

from temporalio import activity, workflow

from exercises.e07_idempotent_charge import Charge
from saga_lab.activities import perform
from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT


class CardPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn
    async def charge_card(self, charge: Charge) -> str:
        key = f"order/{charge.order_id}/charge"
        payment = await perform(
            self.faults, "charge", charge.fault, self.payments.charge, charge.order_id, charge.amount, key
        )
        return payment.payment_id


@workflow.defn
class ChargeWorkflow:
    @workflow.run
    async def run(self, charge: Charge) -> str:
        return await workflow.execute_activity(
            "charge_card", charge, result_type=str, start_to_close_timeout=STEP_TIMEOUT, retry_policy=STEP_RETRY
        )
