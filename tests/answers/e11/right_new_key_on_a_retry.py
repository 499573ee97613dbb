# PASS: the first attempt sends the saga's key, a retry a key of its own: the bug spelled out with an if
"""A learner's e11: "attempt 2 and later are new requests"."""

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
        key = input.idempotency_key
        if activity.info().attempt > 1:
            key += ":retried"
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, key
        )
        return payment.payment_id
