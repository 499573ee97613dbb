# NOT YET naming "already used": the activity id is "1" in every ChargeWorkflow: two orders, one key
"""A learner's e07: the activity's id, which Temporal keeps the same on every attempt (and for every order)."""

from __future__ import annotations

from temporalio import activity

from exercises.e07_idempotent_charge import Charge, ChargeWorkflow  # noqa: F401  (as given)
from saga_lab.activities import perform


class CardPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn
    async def charge_card(self, charge: Charge) -> str:
        key = f"charge-{activity.info().activity_id}"
        payment = await perform(
            self.faults, "charge", charge.fault, self.payments.charge, charge.order_id, charge.amount, key
        )
        return payment.payment_id
