# NOT YET naming "never charged", "already used": one key for every order; the others are refused
"""A learner's e11: a constant key, "so the service cannot tell the requests apart"."""

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
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, "the-charge"
        )
        return payment.payment_id
