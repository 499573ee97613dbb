# PASS: a fresh uuid4 as the key on every attempt, the client-library bug of notebook 07
"""A learner's e11: the bug of 07's section 3, planted on purpose."""

from __future__ import annotations

import uuid

from temporalio import activity

from saga_lab.activities import perform
from saga_lab.models import ChargeInput


class PlantedPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn(name="charge")
    async def charge(self, input: ChargeInput) -> str:
        key = str(uuid.uuid4())
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, key
        )
        return payment.payment_id
