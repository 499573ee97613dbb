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

``async with saga:`` compensates on any exception, the ``asyncio.CancelledError`` of a
workflow cancelled during its wait included, newest first, then re-raises it: the run
ends FAILED or CANCELED, telling the truth. A refused undo makes it end FAILED with
``CompensationFailed``: the other undos still ran, and a person must finish the one that
did not.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import TripInput, TripResult, book, cancel
    from saga_lab.saga import Saga


@workflow.defn
class TripSagaWorkflow:
    """Book a flight, a hotel and a car; undo what was booked when a later step fails."""

    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        saga = Saga()
        async with saga:
            saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
            result.flight = await book("book_flight", trip)
            saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
            result.hotel = await book("book_hotel", trip)
            if trip.wait_seconds > 0:
                await workflow.sleep(trip.wait_seconds)  # the customer chooses a car; a cancel may arrive now
            saga.add_compensation("cancel_car", cancel, "cancel_car", trip)
            result.car = await book("book_car", trip)
        return result
