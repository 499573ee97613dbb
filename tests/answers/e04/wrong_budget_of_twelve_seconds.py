# NOT YET naming "the step ended after 12", "the rule is 10 s": a budget, but longer than the rule
"""Exercise 04, wrong: attempts every 0.5 s until a schedule-to-close budget of 12 s ends the step, 2 s too late."""

from datetime import timedelta

from temporalio.common import RetryPolicy

CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=500),
    backoff_coefficient=1.0,
    maximum_attempts=0,
    non_retryable_error_types=["PaymentDeclined"],
)

CHARGE_BUDGET: timedelta | None = timedelta(seconds=12)
