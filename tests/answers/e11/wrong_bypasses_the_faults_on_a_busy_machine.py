# NOT YET naming "no reply was ever lost": it bypasses the faults, and a busy machine times its attempts out
"""A learner's e11 that skips `perform`, run where every first attempt outlives its timeout (a busy machine).

The retries then charge again with new keys, and the checker catches them, but no fault was
ever applied: a busy fresh clone once let the bypass pass this way.
"""

from __future__ import annotations

import asyncio
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
        if activity.info().attempt == 1:
            await asyncio.sleep(activity.info().start_to_close_timeout.total_seconds() + 1)  # as a busy machine would
        return payment.payment_id
