# NOT YET naming "charge=transient:3 the charge never succeeded", "3 attempts": one attempt short
"""Exercise 04, wrong: 3 attempts cannot outlast 3 failures."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_attempts=3, non_retryable_error_types=["PaymentDeclined"]
)

CHARGE_BUDGET: timedelta | None = None
