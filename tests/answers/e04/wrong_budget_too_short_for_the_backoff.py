# NOT YET naming "charge=transient:3 the charge never succeeded", "budget ran out": passes rule 3, fails rule 1
"""Exercise 04, wrong: a budget of 3 s with back-offs of 1 s, 2 s, 4 s: the 4th attempt would start at 7 s."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, non_retryable_error_types=["PaymentDeclined"]
)

CHARGE_BUDGET: timedelta | None = timedelta(seconds=3)
