# NOT YET naming "(a service that stays down) the step ended after", "the rule is 10 s": a budget over the rule
"""Exercise 04, wrong: attempts every 0.5 s until a schedule-to-close budget of 12 s: the step ends about 2 s late."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=1.0,
    maximum_attempts=0,
    non_retryable_error_types=["PaymentDeclined"],
)

CHARGE_BUDGET: timedelta | None = timedelta(seconds=12)
