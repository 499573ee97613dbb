# NOT YET naming "no reply was ever lost": it calls the payment service directly, past the faults
"""A learner's e11: a new key on every attempt, but the call skips `perform` (and the faults with it)."""

from __future__ import annotations

import uuid

from temporalio import activity

from saga_lab.models import ChargeInput


class PlantedPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn(name="charge")
    async def charge(self, input: ChargeInput) -> str:
        payment = self.payments.charge(input.order_id, input.amount, str(uuid.uuid4()))
        return payment.payment_id
