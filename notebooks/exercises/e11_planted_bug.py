"""Exercise 11 · plant a bug and watch the invariant checker catch it.

A chaos test is worth the bugs it catches. Here you write one on purpose, the kind that
slips in when someone "simplifies" a payment client: a ``charge`` activity that is NOT
idempotent. The check then runs a small batch of order sagas with YOUR ``charge`` in the
payment worker. Some orders lose the reply of their first charge attempt
(``charge=timeout:1``: the card is charged, Temporal never hears back, and retries).
Then it reads every order from the three databases and judges it with the chaos runner's
own invariant checker, ``saga_lab.chaos.check_order``.

Today ``charge`` is correct: it hands the payment service the idempotency key the saga
made for this order's charge, so a retried attempt gets the first attempt's payment back
([02 · Three services] taught the keys, [07 · Retries and idempotency] the ghost charge).

TODO: plant the bug. When you are done, a retry of ``charge`` after a lost reply charges
the card once more, wherever the retry runs, while a charge that is not retried still
charges once (a bug that shows on every call is caught by any test; this one hides until
something fails). Keep the class, the method's name and its input: the saga's payment
worker registers ``PlantedPayments(...).charge`` as its ``charge`` activity.

Edit this file, save it, and rerun the check cell in notebook 11 (about 10 seconds). Its
payment worker runs in a process of its own; once the lost replies' cards are charged, that
process is killed and a new one takes over their retries.
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

        TODO: plant the bug: a retry after a lost reply charges the card again.
        """
        key = input.idempotency_key  # the saga's key for this order's charge: the same on every attempt
        payment = await perform(
            self.faults, "charge", input.fault, self.payments.charge, input.order_id, input.amount, key
        )
        return payment.payment_id
