"""Exercise 07 · make the charge idempotent.

``CardPayments.charge_card`` charges an order through the payment service. It sends the
service a NEW idempotency key on every attempt, as an HTTP client library does when the
caller gives it none. So when the reply of an attempt is lost (``timeout:1``: the card was
charged, Temporal never heard back) and Temporal retries, the service sees a new request
and charges the card again: a ghost charge.

TODO: a charge whose reply was lost must not charge the card again when Temporal retries
it, wherever the retry runs: in this worker process, or in another one on another machine
(production runs several). Two orders are still two charges.

Edit this file, save it, and rerun the check cell in notebook 07: it charges two orders,
each with a lost reply, retries one in the same worker process and the other in a new one,
and counts the charges in the payment service's ledger.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from saga_lab.activities import perform
    from saga_lab.faults import Fault, FaultInjector
    from saga_lab.services import PaymentService
    from saga_lab.workflows import STEP_RETRY, STEP_TIMEOUT


@dataclass
class Charge:
    """One order's charge; ``fault`` is injected into the payment service call (e.g. ``timeout:1``)."""

    order_id: str
    amount: int
    fault: Fault | None = None


class CardPayments:
    """The charge activity, with the payment service and the fault injector handed in."""

    def __init__(self, payments: PaymentService, faults: FaultInjector) -> None:
        self.payments = payments
        self.faults = faults

    @activity.defn
    async def charge_card(self, charge: Charge) -> str:
        """Charge the order's amount; returns the payment id."""
        key = str(uuid.uuid4())  # TODO: a retry of this charge must reach the service as the same request
        payment = await perform(
            self.faults, "charge", charge.fault, self.payments.charge, charge.order_id, charge.amount, key
        )
        return payment.payment_id


@workflow.defn
class ChargeWorkflow:
    """Charge one order, with the saga's timeout and retry policy for a step."""

    @workflow.run
    async def run(self, charge: Charge) -> str:
        return await workflow.execute_activity_method(
            CardPayments.charge_card, charge, start_to_close_timeout=STEP_TIMEOUT, retry_policy=STEP_RETRY
        )
