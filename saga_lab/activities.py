"""Temporal activities: thin wrappers over the three services, where faults are applied.

Each service has its own class, with its store and a :class:`~saga_lab.faults.FaultInjector`
injected, and its own task queue (see :mod:`saga_lab.config`). A service's domain
error becomes an ``ApplicationError`` whose type is the error's class name: the
workflow's ``RetryPolicy`` lists those types as non-retryable, so the workflow (the
caller) decides what is worth retrying, in one place, and the learner reads the
service's own words in the history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .faults import Fault, FaultInjector
from .models import (
    CancelOrderInput,
    CancelShipmentInput,
    ChargeInput,
    CreateOrderInput,
    CreateShipmentInput,
    RefundInput,
)
from .services import OrderService, PaymentService, ServiceError, ShippingService


async def perform(faults: FaultInjector, step: str, fault: Fault | None, work: Callable[..., Any], *args: Any) -> Any:
    """Run one service call the way every activity does: its fault, a thread, the error said as the service said it."""
    info = activity.info()
    log = {"order_id": info.workflow_id}
    try:
        result = await faults.run(step, fault, work, *args)
    except ServiceError as err:
        activity.logger.info("%s attempt %d refused: %s", step, info.attempt, err, extra=log)
        raise ApplicationError(str(err), type=err.type_name) from None
    activity.logger.info("%s attempt %d done", step, info.attempt, extra=log)
    return result


class PaymentActivities:
    def __init__(self, payments: PaymentService, faults: FaultInjector | None = None) -> None:
        self.payments = payments
        self.faults = faults or FaultInjector()

    @activity.defn
    async def charge(self, input: ChargeInput) -> str:
        """Charge the customer; returns the payment id."""
        payment = await perform(
            self.faults,
            "charge",
            input.fault,
            self.payments.charge,
            input.order_id,
            input.amount,
            input.idempotency_key,
        )
        return payment.payment_id

    @activity.defn
    async def refund(self, input: RefundInput) -> int:
        """Refund everything still charged for the order; returns the cents refunded."""
        return await perform(
            self.faults, "refund", input.fault, self.payments.refund_order, input.order_id, input.idempotency_key
        )


class OrderActivities:
    def __init__(self, orders: OrderService, faults: FaultInjector | None = None) -> None:
        self.orders = orders
        self.faults = faults or FaultInjector()

    @activity.defn
    async def create_order(self, input: CreateOrderInput) -> str:
        """Create the order ACTIVE; returns its status."""
        order = await perform(
            self.faults,
            "create_order",
            input.fault,
            self.orders.create_order,
            input.order_id,
            input.amount,
            input.idempotency_key,
        )
        return order.status

    @activity.defn
    async def cancel_order(self, input: CancelOrderInput) -> str:
        """Cancel the order (or leave a tombstone if it was never created); returns its status."""
        order = await perform(
            self.faults, "cancel_order", input.fault, self.orders.cancel_order, input.order_id, input.idempotency_key
        )
        return order.status


class ShippingActivities:
    def __init__(self, shipping: ShippingService, faults: FaultInjector | None = None) -> None:
        self.shipping = shipping
        self.faults = faults or FaultInjector()

    @activity.defn
    async def create_shipment(self, input: CreateShipmentInput) -> str:
        """Book a shipment; returns the shipment id."""
        shipment = await perform(
            self.faults,
            "create_shipment",
            input.fault,
            self.shipping.create_shipment,
            input.order_id,
            input.idempotency_key,
        )
        return shipment.shipment_id

    @activity.defn
    async def cancel_shipment(self, input: CancelShipmentInput) -> str | None:
        """Undo a shipment whose booking timed out or was cancelled mid-flight; returns its id, if any."""
        shipment = await perform(
            self.faults,
            "cancel_shipment",
            input.fault,
            self.shipping.cancel_shipment,
            input.order_id,
            input.idempotency_key,
        )
        return shipment.shipment_id if shipment else None


@activity.defn
async def compose_greeting(name: str) -> str:
    """The hello-world activity of notebooks 00 and 01."""
    return f"Hello, {name}!"
