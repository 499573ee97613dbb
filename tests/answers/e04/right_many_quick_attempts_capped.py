# PASS: 8 quick attempts, the wait capped at 2 s (7.1 s of waiting in all)
"""Exercise 04, right, another style: more attempts than needed, a maximum interval that keeps them within 10 s."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=2),
    maximum_attempts=8,
    non_retryable_error_types=["PaymentDeclined"],
)

CHARGE_BUDGET: timedelta | None = None
