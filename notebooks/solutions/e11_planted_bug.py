"""Exercise 11 · plant a bug and watch the invariant checker catch it: the solution.

The planted bug: ``charge`` sends the payment service a key that changes with the
attempt number. The service charges once per key, so every retry is a new request to it.
A retry after an error raised BEFORE the work (``transient``) does no harm: nothing was
charged. A retry after a lost reply (``timeout``, a crashed worker, a late reply) charges
the card a second time, and ``check_order`` says so: "charged 2 times".

(``str(uuid.uuid4())`` as the key, or calling ``self.payments.charge`` twice, are bugs the
checker catches as well.)
"""

from __future__ import annotations

from temporalio import activity

from saga_lab.activities import perform
from saga_lab.faults import FaultInjector
from saga_lab.models import ChargeInput
from saga_lab.services import PaymentService


class PlantedPayments:
    """The payment worker's ``charge``, with its payment service and fault injector handed in."""

    def __init__(self, payments: PaymentService, faults: FaultInjector) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn(name="charge")
    async def charge(self, input: ChargeInput) -> str:
        """Charge the customer; returns the payment id.

        THE PLANTED BUG: a new key on every attempt, so a retry is a new charge.
        """
        key = f"{input.idempotency_key}:attempt-{activity.info().attempt}"
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, key
        )
        return payment.payment_id
