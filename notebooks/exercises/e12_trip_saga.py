"""Exercise 12 · the capstone: a trip-booking saga. Edit this file, save it, rerun the check in notebook 12.

The workflow books a flight, a hotel and a car, in that order, and waits between the
hotel and the car while the customer chooses one. Today it undoes nothing: when the car
is refused, the flight and the hotel stay booked, and paid for.

Make it a saga: the package's ``Saga`` helper, or the plain pattern of notebook 05. When
you are done, this is true of every trip:

- TODO 1: whatever stops the trip (a refusal, a booking that gave up without an answer, a
  cancel through Temporal), nothing the trip booked, or may have booked, stays booked;
  what was booked is undone newest first.
- TODO 2: the trip ends the way it happened, in the lab's words (notebook 05): a booking
  failed and everything was undone: the run completes, and its ``TripResult`` says
  COMPENSATED; cancelled and everything undone: the run ends CANCELED; an undo refused:
  the run fails, because a person must act.

``book`` and ``cancel`` (given, in ``capstone/trip_activities.py``) each run one
activity with its timeout and retry policy. An undo of a booking that never happened
finds nothing to cancel and answers False: that is a success, not an error.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import COMPENSATED, TripInput, TripResult, book, cancel  # noqa: F401
    from saga_lab.saga import Saga  # noqa: F401


@workflow.defn
class TripSagaWorkflow:
    """Book a flight, a hotel and a car; undo what was booked when a later step fails."""

    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        # TODO 1 and 2: make the bookings and the wait below a saga that undoes what it may have
        # booked, and ends the trip the way it happened
        result.flight = await book("book_flight", trip)
        result.hotel = await book("book_hotel", trip)
        if trip.wait_seconds > 0:
            await workflow.sleep(trip.wait_seconds)  # the customer chooses a car; a cancel may arrive now
        result.car = await book("book_car", trip)
        return result
