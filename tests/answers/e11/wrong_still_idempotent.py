# NOT YET naming "still idempotent": the key is rebuilt from the order id, as stable as the saga's
"""A learner's e11: a "different" key that is just as stable as the saga's."""

from __future__ import annotations

from temporalio import activity

from saga_lab.activities import perform
from saga_lab.models import ChargeInput


class PlantedPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn(name="charge")
    async def charge(self, input: ChargeInput) -> str:
        key = f"{input.order_id}-payment"
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, key
        )
        return payment.payment_id
