# NOT YET naming "still being retried after 16 s", "the rule is 10 s": no end to the retries
"""Exercise 04, wrong: unlimited attempts and no budget: a service that stays down is retried forever."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_interval=timedelta(seconds=1),
    non_retryable_error_types=["PaymentDeclined"],
)

CHARGE_BUDGET: timedelta | None = None
