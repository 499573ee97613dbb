"""Exercise 12 · the capstone, solved: the trip-booking saga. Try it yourself first.

Each undo is registered just BEFORE its booking. A booking can end three ways:

- it succeeds: it happened, its undo is needed if a later step fails;
- it is refused (``BookingRejected``): nothing was written, the undo has nothing to do;
- it gives up without an answer (every attempt timed out, or the service stayed busy):
  it may have happened. The car of the "reply lost" cases WAS booked: only its replies
  were lost. Its undo must run too.

Registered before the booking, the undo runs in all three cases; where the booking never
happened it finds nothing and answers False, which is safe. That holds for the car too:
it is the last step (once it is booked the trip is done and nothing is undone), but a car
booking that timed out on every attempt leaves the trip failing with a car booked.

Another way, the order saga's (``OrderSagaWorkflow._step``): register the undo after the
booking succeeds, and in an ``except`` for every failure that is not a refusal.

How the trip ends follows the lab's rule, "a run fails only when a person must act":

- ``async with saga:`` undoes everything, newest first, on a Temporal failure or a
  cancellation, then re-raises it;
- a booking that failed (``ActivityError``), every undo done: the workflow RETURNS a result
  saying COMPENSATED, and the run completes;
- a cancel through Temporal, every undo done: the cancellation goes on up (an
  ``asyncio.CancelledError`` during the wait, an ``ActivityError`` caused by one during a
  booking: ``is_cancelled_exception`` knows both), and the run ends CANCELED;
- an undo refused: the ``Saga`` raises ``CompensationFailed``, a non-retryable
  ``ApplicationError``, in place of whatever stopped the trip: the run ends FAILED, and a
  person must finish the undo that did not happen.

A bug in this code (a ``TypeError``, a typo) is none of these: it fails the workflow task,
nothing is undone, and the run waits until the code is fixed.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import COMPENSATED, TripInput, TripResult, book, cancel
    from saga_lab.saga import Saga


@workflow.defn
class TripSagaWorkflow:
    """Book a flight, a hotel and a car; undo what was booked when a later step fails."""

    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        saga = Saga()
        try:
            async with saga:
                saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
                result.flight = await book("book_flight", trip)
                saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
                result.hotel = await book("book_hotel", trip)
                if trip.wait_seconds > 0:
                    await workflow.sleep(trip.wait_seconds)  # the customer chooses a car; a cancel may arrive now
                saga.add_compensation("cancel_car", cancel, "cancel_car", trip)
                result.car = await book("book_car", trip)
        except ActivityError as failure:
            if is_cancelled_exception(failure):
                raise  # cancelled while a booking ran: every undo is done, the run ends CANCELED
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(failure.cause or failure))
        return result
