"""YOUR capstone: a trip-booking saga. Edit this file, then rerun the check in notebook 11.

The workflow books a flight, a hotel and a car, in that order, and waits between the
hotel and the car while the customer chooses one. Today it undoes nothing: when the car
is refused, the flight and the hotel stay booked (and paid for). Make it a saga:

- TODO 1: create a ``Saga()`` and run the three bookings (and the wait) inside ``async with saga:``.
- TODO 2: after each booking succeeds, register its undo with
  ``saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)`` (and the same for the hotel;
  the car is the last step: once it is booked the trip is done).

The helper then undoes what was done, newest first, on a refusal, a failed retry, or a
cancellation of the workflow while it waits. ``book`` and ``cancel`` (given) run the
activities with their retry policies. ``Saga`` is the package's helper (notebook 05).
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import TripInput, TripResult, book, cancel  # noqa: F401  (cancel: for TODO 2)
    from saga_lab.saga import Saga  # noqa: F401  (for TODO 1)


@workflow.defn
class TripSagaWorkflow:
    """Book a flight, a hotel and a car; undo what was booked when a later step fails."""

    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        # TODO 1: saga = Saga(), and indent the lines below into `async with saga:`
        result.flight = await book("book_flight", trip)
        # TODO 2: register the flight's undo here
        result.hotel = await book("book_hotel", trip)
        # TODO 2: register the hotel's undo here
        if trip.wait_seconds > 0:
            await workflow.sleep(trip.wait_seconds)  # the customer chooses a car; a cancel may arrive now
        result.car = await book("book_car", trip)
        return result
