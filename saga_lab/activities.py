"""Temporal activities: thin wrappers over the three services.

Each service has its own class, with its store injected, and its own task queue (see
:mod:`saga_lab.config`). The activities are plain ``def``: the services block on SQLite,
so the worker runs them on its ``activity_executor``, a thread pool
(:func:`activity_executor`), as the SDK's samples do for blocking calls, and its event
loop stays free. A service's refusal is final: :func:`refusals_are_final` raises it as a
non-retryable ``ApplicationError`` whose type is the error's class name, so no retry
policy, not even the default one, retries a declined card.

``@with_faults`` is the lab's instrumentation (an injected fault, one log line per
attempt): leave it out when you copy an activity.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

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

Method = TypeVar("Method", bound=Callable[..., Any])


#: Activity tasks one service worker runs at once (the SDK's default, said here).
ACTIVITY_SLOTS = 100
#: Threads for the plain ``def`` activities of every service worker in a process: a slot each. An
#: attempt holds its thread while it works, a ``timeout`` fault's for 3 s and a ``late`` one's until
#: its work lands (about 15 s). Chaos keeps 200 sagas in flight, one worker per service: in a run of
#: 200 sagas at fault rate 0.3, 27 attempts were late in all.
ACTIVITY_THREADS = ACTIVITY_SLOTS * 3


@functools.cache
def activity_executor() -> ThreadPoolExecutor:
    """This process's thread pool for plain ``def`` activities (``Worker(..., activity_executor=...)``), and for
    :func:`perform`.

    One pool, made on first use and kept: its threads start as activities need them, idle ones are
    reused, and a worker that stops never waits on another's. Pass it to every worker that runs the
    services' activities.
    """
    return ThreadPoolExecutor(max_workers=ACTIVITY_THREADS, thread_name_prefix="activity")


@contextmanager
def refusals_are_final() -> Iterator[None]:
    """A service's refusal (a :class:`~saga_lab.services.ServiceError`) leaves as a non-retryable
    ``ApplicationError`` whose type is the error's class name, in the service's own words."""
    try:
        yield
    except ServiceError as err:
        raise ApplicationError(str(err), type=err.type_name, non_retryable=True) from None


def with_faults(method: Method) -> Method:
    """The lab's instrumentation of an activity method: ``self.faults`` applies ``input.fault``
    around the call, and each attempt says in one log line whether it was done or refused."""

    @functools.wraps(method)
    def attempt(self: Any, input: Any) -> Any:
        return _attempt(self.faults, method.__name__, input.fault, method, self, input)

    return attempt  # type: ignore[return-value]


async def perform(faults: FaultInjector, step: str, fault: Fault | None, work: Callable[..., Any], *args: Any) -> Any:
    """``work(*args)`` for an ``async def`` activity (exercises 07 and 11): as ``@with_faults`` does, on a
    thread of its own, so that the blocking service call never holds up the worker's event loop."""
    call = contextvars.copy_context().run  # the thread sees the activity's context (activity.info())
    return await asyncio.get_running_loop().run_in_executor(
        activity_executor(), call, _attempt, faults, step, fault, work, *args
    )


def _attempt(faults: FaultInjector, step: str, fault: Fault | None, work: Callable[..., Any], *args: Any) -> Any:
    info = activity.info()
    log = {"order_id": info.workflow_id}
    try:
        with refusals_are_final():  # an injected permanent fault is a refusal too
            result = faults.run(step, fault, work, *args)
    except ApplicationError as err:
        if err.non_retryable:
            activity.logger.info("%s attempt %d refused: %s", step, info.attempt, err.message, extra=log)
        raise
    activity.logger.info("%s attempt %d done", step, info.attempt, extra=log)
    return result


class PaymentActivities:
    def __init__(self, payments: PaymentService, faults: FaultInjector | None = None) -> None:
        self.payments = payments
        self.faults = faults or FaultInjector()

    @activity.defn
    @with_faults
    def charge(self, input: ChargeInput) -> str:
        """Charge the customer; returns the payment id."""
        with refusals_are_final():
            payment = self.payments.charge(input.order_id, input.amount, input.idempotency_key)
        return payment.payment_id

    @activity.defn
    @with_faults
    def refund(self, input: RefundInput) -> int:
        """Refund everything still charged for the order; returns the cents refunded."""
        with refusals_are_final():
            return self.payments.refund_order(input.order_id, input.idempotency_key)


class OrderActivities:
    def __init__(self, orders: OrderService, faults: FaultInjector | None = None) -> None:
        self.orders = orders
        self.faults = faults or FaultInjector()

    @activity.defn
    @with_faults
    def create_order(self, input: CreateOrderInput) -> str:
        """Create the order ACTIVE; returns its status."""
        with refusals_are_final():
            order = self.orders.create_order(input.order_id, input.amount, input.idempotency_key)
        return order.status

    @activity.defn
    @with_faults
    def cancel_order(self, input: CancelOrderInput) -> str:
        """Cancel the order (or leave a tombstone if it was never created); returns its status."""
        with refusals_are_final():
            order = self.orders.cancel_order(input.order_id, input.idempotency_key)
        return order.status


class ShippingActivities:
    def __init__(self, shipping: ShippingService, faults: FaultInjector | None = None) -> None:
        self.shipping = shipping
        self.faults = faults or FaultInjector()

    @activity.defn
    @with_faults
    def create_shipment(self, input: CreateShipmentInput) -> str:
        """Book a shipment; returns the shipment id."""
        with refusals_are_final():
            shipment = self.shipping.create_shipment(input.order_id, input.idempotency_key)
        return shipment.shipment_id

    @activity.defn
    @with_faults
    def cancel_shipment(self, input: CancelShipmentInput) -> str | None:
        """Undo a shipment whose booking timed out or was cancelled mid-flight; returns its id, if any."""
        with refusals_are_final():
            shipment = self.shipping.cancel_shipment(input.order_id, input.idempotency_key)
        return shipment.shipment_id if shipment else None


@activity.defn
async def compose_greeting(name: str) -> str:
    """The hello-world activity of notebooks 00 and 01 (``async``: it does not block)."""
    return f"Hello, {name}!"
