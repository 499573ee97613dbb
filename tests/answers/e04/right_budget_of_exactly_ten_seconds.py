# PASS: the rule read literally: unlimited attempts, a budget of exactly 10 s
"""Exercise 04, right, another style: attempts every 0.5 s, and the budget alone ends them, at 10 s: the boundary."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500), backoff_coefficient=1.0, non_retryable_error_types=["PaymentDeclined"]
)

CHARGE_BUDGET: timedelta | None = timedelta(seconds=10)
