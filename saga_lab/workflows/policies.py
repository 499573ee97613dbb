"""How every order workflow calls a step: its timeout and retry policies, and the search attributes it keeps.

A service's business error (``PaymentDeclined``, ``OrderCancelled``, ...) is final where it
is raised: the activities raise it as a non-retryable ``ApplicationError``. The policies
list the same types as non-retryable, so the step stops at once on any activity that says
"no" with one of them, even one that does not mark it final (a mock, another team's worker).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from ..models import FAILED_STEP, ORDER_STATUS
    from ..services.errors import NON_RETRYABLE_ERROR_TYPES

#: Short on purpose: this is a lab, and a timeout fault costs one of these per attempt.
STEP_TIMEOUT = timedelta(seconds=2)

#: A forward step: a few quick retries for transient trouble, none for business errors.
STEP_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=5,
    non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
)

#: A compensation must not give up on a transient fault: keep retrying (maximum_attempts=0).
#: A business error still stops it: the saga then ends FAILED and needs a person.
COMPENSATION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=0,
    non_retryable_error_types=list(NON_RETRYABLE_ERROR_TYPES),
)


def is_business_failure(err: BaseException) -> bool:
    """A service said no (a non-retryable domain error): it guarantees it wrote nothing."""
    return (
        isinstance(err, ActivityError)
        and isinstance(err.cause, ApplicationError)
        and err.cause.type in NON_RETRYABLE_ERROR_TYPES
    )


__all__ = [
    "COMPENSATION_RETRY",
    "FAILED_STEP",
    "ORDER_STATUS",
    "STEP_RETRY",
    "STEP_TIMEOUT",
    "is_business_failure",
]
