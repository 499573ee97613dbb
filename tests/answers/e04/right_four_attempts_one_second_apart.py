# PASS: exactly enough attempts, no back-off growth, no budget
"""Exercise 04, right, another style: 4 attempts 1 s apart end within about 3 s."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=1.0,
    maximum_attempts=4,
    non_retryable_error_types=["PaymentDeclined"],
)

CHARGE_BUDGET: timedelta | None = None
