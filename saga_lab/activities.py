"""Temporal activities: thin wrappers over the three services, where faults are applied.

Each service has its own class, its store injected, and its own task queue (see
:mod:`saga_lab.config`). A domain error from a service becomes a non-retryable
``ApplicationError`` whose type is the error's class name, so the workflow's
RetryPolicy stops retrying at once and the message reaches the learner unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from .faults import Fault, lose_reply_after_work, raise_before_work
from .services import OrderService, PaymentService, ServiceError, ShippingService


@dataclass
class ChargeInput:
    order_id: str
    amount: int
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class RefundInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CreateOrderInput:
    order_id: str
    amount: int
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CancelOrderInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CreateShipmentInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


@dataclass
class CancelShipmentInput:
    order_id: str
    idempotency_key: str
    fault: Fault | None = None


async def _perform(step: str, fault: Fault | None, work: Callable[..., Any], *args: Any) -> Any:
    """Run one service call the way every activity does: faults, a thread, error translation."""
    info = activity.info()
    log = {"order_id": info.workflow_id}
    try:
        raise_before_work(step, fault, info.attempt)
        result = await asyncio.to_thread(work, *args)
    except ServiceError as err:
        activity.logger.info("%s attempt %d refused: %s", step, info.attempt, err, extra=log)
        raise ApplicationError(str(err), type=err.type_name, non_retryable=True) from None
    activity.logger.info("%s attempt %d done", step, info.attempt, extra=log)
    timeout = info.start_to_close_timeout.total_seconds() if info.start_to_close_timeout else None
    await lose_reply_after_work(fault, info.attempt, timeout)
    return result


class PaymentActivities:
    def __init__(self, payments: PaymentService) -> None:
        self.payments = payments

    @activity.defn(name="charge")
    async def charge(self, input: ChargeInput) -> str:
        """Charge the customer; returns the payment id."""
        payment = await _perform(
            "charge", input.fault, self.payments.charge, input.order_id, input.amount, input.idempotency_key
        )
        return payment.payment_id

    @activity.defn(name="refund")
    async def refund(self, input: RefundInput) -> int:
        """Refund everything still charged for the order; returns the cents refunded."""
        return await _perform("refund", input.fault, self.payments.refund_order, input.order_id, input.idempotency_key)


class OrderActivities:
    def __init__(self, orders: OrderService) -> None:
        self.orders = orders

    @activity.defn(name="create_order")
    async def create_order(self, input: CreateOrderInput) -> str:
        order = await _perform(
            "create_order", input.fault, self.orders.create_order, input.order_id, input.amount, input.idempotency_key
        )
        return order.status

    @activity.defn(name="cancel_order")
    async def cancel_order(self, input: CancelOrderInput) -> str:
        order = await _perform(
            "cancel_order", input.fault, self.orders.cancel_order, input.order_id, input.idempotency_key
        )
        return order.status


class ShippingActivities:
    def __init__(self, shipping: ShippingService) -> None:
        self.shipping = shipping

    @activity.defn(name="create_shipment")
    async def create_shipment(self, input: CreateShipmentInput) -> str:
        """Book a shipment; returns the shipment id."""
        shipment = await _perform(
            "create_shipment", input.fault, self.shipping.create_shipment, input.order_id, input.idempotency_key
        )
        return shipment.shipment_id

    @activity.defn(name="cancel_shipment")
    async def cancel_shipment(self, input: CancelShipmentInput) -> str | None:
        """Undo a shipment whose booking timed out (its outcome is unknown)."""
        shipment = await _perform(
            "cancel_shipment", input.fault, self.shipping.cancel_shipment, input.order_id, input.idempotency_key
        )
        return shipment.shipment_id if shipment else None


@activity.defn(name="compose_greeting")
async def compose_greeting(name: str) -> str:
    """The hello-world activity of notebooks 00 and 01."""
    return f"Hello, {name}!"
