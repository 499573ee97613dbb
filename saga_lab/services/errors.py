"""The one exception hierarchy of the services.

Every error is a permanent answer: retrying the same request cannot change it, so
the activities raise each as a non-retryable ``ApplicationError`` whose type is
:attr:`ServiceError.type_name` (:func:`saga_lab.activities.refusals_are_final`): no
retry policy, the default one included, tries a declined card twice.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request a service refused, said in one line that tells the caller what to do."""

    #: The class name; the activity layer uses it as the ``ApplicationError`` type.
    type_name: str = "ServiceError"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__name__

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequest(ServiceError):
    """The arguments are malformed; nothing was read or written."""


class InvalidAmount(InvalidRequest):
    """An amount that is not a whole number of cents within the limit."""


class InvalidOrderId(InvalidRequest):
    """An order id outside ``^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$``."""


class InvalidIdempotencyKey(InvalidRequest):
    """An idempotency key that is empty, blank, too long or not a string."""


class UnknownOrder(ServiceError):
    """The order service has no such order."""


class UnknownPayment(ServiceError):
    """The payment service has no such payment."""


class RefundExceedsCharge(ServiceError):
    """A refund larger than what is left of the payment."""


class IdempotencyConflict(ServiceError):
    """A key reused for a different operation or payload, or an order id reused with another amount."""


class OrderCancelled(ServiceError):
    """``create_order`` for an order that was already cancelled: the cancellation wins."""


class ShipmentCancelled(ServiceError):
    """``create_shipment`` for an order whose shipments were already cancelled: the cancellation wins."""


class PaymentDeclined(ServiceError):
    """The payment provider refused the charge."""


class OrderRejected(ServiceError):
    """The order service refused to create the order."""


class ShipmentRejected(ServiceError):
    """The shipping service refused to create the shipment."""


class RefundRejected(ServiceError):
    """The payment provider refused the refund."""


class CancellationRejected(ServiceError):
    """A service refused to cancel (an order or a shipment)."""


def _all_error_classes(root: type[ServiceError] = ServiceError) -> list[type[ServiceError]]:
    found = [root]
    for sub in root.__subclasses__():
        found.extend(_all_error_classes(sub))
    return found


#: Type names of every service error; all of them are permanent. The saga's retry policies list them
#: too, so a step that reaches a service which does not say it (a mock, another client) stops as well.
NON_RETRYABLE_ERROR_TYPES: tuple[str, ...] = tuple(cls.type_name for cls in _all_error_classes())
