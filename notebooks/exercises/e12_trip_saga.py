"""Exercise 12 · the capstone: a trip-booking saga. Edit this file, save it, rerun the check in notebook 12.

The workflow books a flight, a hotel and a car, in that order, and waits between the
hotel and the car while the customer chooses one. Today it undoes nothing: when the car
is refused, the flight and the hotel stay booked, and paid for.

Make it a saga, with the package's ``Saga`` helper (notebook 05):

- TODO 1: when anything goes wrong (a refusal, a booking that gave up, the workflow
  cancelled during the wait), what was booked is undone, newest first, and the run still
  ends the way it happened (FAILED, or CANCELED).
- TODO 2: register each booking's undo where it belongs. For each booking, ask: after
  which outcomes may it have happened?

``book`` and ``cancel`` (given, in ``capstone/trip_activities.py``) each run one
activity with its timeout and retry policy. An undo of a booking that never happened
finds nothing to cancel and answers False: that is a success, not an error.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import TripInput, TripResult, book, cancel  # noqa: F401  (cancel: TODO 2)
    from saga_lab.saga import Saga  # noqa: F401  (TODO 1)


@workflow.defn
class TripSagaWorkflow:
    """Book a flight, a hotel and a car; undo what was booked when a later step fails."""

    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        # TODO 1: make the bookings and the wait below a saga
        # TODO 2: register each booking's undo where it belongs
        result.flight = await book("book_flight", trip)
        result.hotel = await book("book_hotel", trip)
        if trip.wait_seconds > 0:
            await workflow.sleep(trip.wait_seconds)  # the customer chooses a car; a cancel may arrive now
        result.car = await book("book_car", trip)
        return result
