# NOT YET naming "in a single attempt", "no retry": it charges twice on every call, retried or not
"""A learner's e11: two charges with two keys in every attempt."""

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
        self.payments.charge(input.order_id, input.amount, f"{input.idempotency_key}:extra")
        payment = await perform(
            self.faults,
            "charge",
            input.fault,
            self.payments.charge,
            input.order_id,
            input.amount,
            input.idempotency_key,
        )
        return payment.payment_id
