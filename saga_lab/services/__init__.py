"""The three services of the saga, as plain Python over one SQLite file each.

They know nothing of Temporal: each mutating call validates its arguments, then runs
exactly once per idempotency key, so an activity retried after a crash or a timeout
cannot charge, create or ship twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import config
from .errors import (
    NON_RETRYABLE_ERROR_TYPES,
    CancellationRejected,
    IdempotencyConflict,
    InvalidAmount,
    InvalidIdempotencyKey,
    InvalidOrderId,
    InvalidRequest,
    OrderCancelled,
    OrderRejected,
    PaymentDeclined,
    RefundExceedsCharge,
    RefundRejected,
    ServiceError,
    ShipmentCancelled,
    ShipmentRejected,
    UnknownOrder,
    UnknownPayment,
)
from .orders import Order, OrderService
from .payment import LedgerEntry, Payment, PaymentService, Refund
from .shipping import Shipment, ShippingService


@dataclass(frozen=True)
class Services:
    """The three services over one data directory."""

    payment: PaymentService
    orders: OrderService
    shipping: ShippingService


def open_services(home: Path | None = None) -> Services:
    """Open (creating if needed) the three databases in ``home``, default :func:`saga_lab.config.home`."""
    home = config.home() if home is None else Path(home)
    return Services(
        payment=PaymentService.open(home),
        orders=OrderService.open(home),
        shipping=ShippingService.open(home),
    )


__all__ = [
    "NON_RETRYABLE_ERROR_TYPES",
    "CancellationRejected",
    "IdempotencyConflict",
    "InvalidAmount",
    "InvalidIdempotencyKey",
    "InvalidOrderId",
    "InvalidRequest",
    "LedgerEntry",
    "Order",
    "OrderCancelled",
    "OrderRejected",
    "OrderService",
    "Payment",
    "PaymentDeclined",
    "PaymentService",
    "Refund",
    "RefundExceedsCharge",
    "RefundRejected",
    "ServiceError",
    "Services",
    "Shipment",
    "ShipmentCancelled",
    "ShipmentRejected",
    "ShippingService",
    "UnknownOrder",
    "UnknownPayment",
    "open_services",
]
