"""Exercise 04 · a retry policy for the charge.

The check in notebook 04 calls the payment service's real ``charge`` activity with
``CHARGE_RETRY`` as its retry policy, a 2 s start-to-close timeout, and ``CHARGE_BUDGET``
as its schedule-to-close timeout (the budget for all attempts together; None: no budget).
It injects three faults, one order each. Write a policy with which:

1. a payment service that is down for its first 3 attempts (``charge=transient:3``)
   still charges the customer;
2. a declined card (``charge=permanent``: the activity raises an ``ApplicationError``
   whose type is ``"PaymentDeclined"``) ends the step after its first attempt;
3. a payment service that stays down (``charge=transient:100``) ends the step
   within 10 seconds.

Edit this file, save it, and rerun the check cell in notebook 04.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

# TODO: today every error, a declined card included, gets 2 attempts, and no more.
CHARGE_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),
    maximum_attempts=2,
)

# TODO (one way to meet rule 3): a time budget for all attempts together.
CHARGE_BUDGET: timedelta | None = None
