# PASS: the workflow makes the key with workflow.uuid4() (kept in its history) and hands it to each attempt
"""A learner's e07: the key travels in the activity's input, made once by the workflow."""

from __future__ import annotations

from dataclasses import dataclass, replace

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import perform
    from saga_lab.faults import Fault
    from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT


@dataclass
class Charge:
    order_id: str
    amount: int
    fault: Fault | None = None
    key: str = ""


class CardPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn
    async def charge_card(self, charge: Charge) -> str:
        payment = await perform(
            self.faults, "charge", charge.fault, self.payments.charge, charge.order_id, charge.amount, charge.key
        )
        return payment.payment_id


@workflow.defn
class ChargeWorkflow:
    @workflow.run
    async def run(self, charge: Charge) -> str:
        keyed = replace(charge, key=f"charge-{workflow.uuid4()}")  # the same on every replay of this run
        return await workflow.execute_activity_method(
            CardPayments.charge_card, keyed, start_to_close_timeout=STEP_TIMEOUT, retry_policy=STEP_RETRY
        )
