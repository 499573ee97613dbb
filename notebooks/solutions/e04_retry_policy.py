"""Exercise 04 · a retry policy for the charge (solved).

Rule 1 needs at least 4 attempts; rule 2 needs ``PaymentDeclined`` among the
non-retryable error types; rule 3 needs an end: a limited number of attempts, or a
budget (``CHARGE_BUDGET``) for all attempts together.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=5,
    non_retryable_error_types=["PaymentDeclined"],
)

# With maximum_attempts=0 (no limit), this budget alone would meet rule 3.
CHARGE_BUDGET: timedelta | None = timedelta(seconds=8)
