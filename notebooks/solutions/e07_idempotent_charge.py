"""Exercise 07 · make the charge idempotent: the solution.

``charge_card`` sends the payment service the same idempotency key on every attempt of
one order's charge: ``<workflow id>:charge``. The workflow id names the order here, so
two orders get two keys, and a retry after a lost reply gets the first attempt's answer
back instead of a second charge. (``f"{charge.order_id}:charge"`` works as well: any key
that names this business operation, and nothing that changes between attempts.)
"""

from __future__ import annotations

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
        # The same key on every attempt: the workflow id names this order's charge, and a retry repeats it.
        key = f"{activity.info().workflow_id}:charge"
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
