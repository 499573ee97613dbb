# PASS: the key carries the worker's process id: a retry in another worker process charges again
"""A learner's e11: a key "unique per worker", which a retry on another worker does not share."""

from __future__ import annotations

import os

from temporalio import activity

from saga_lab.activities import perform
from saga_lab.models import ChargeInput


class PlantedPayments:
    def __init__(self, payments, faults) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn(name="charge")
    async def charge(self, input: ChargeInput) -> str:
        key = f"{input.idempotency_key}@{os.getpid()}"
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, key
        )
        return payment.payment_id
