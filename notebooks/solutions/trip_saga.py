"""The capstone's solution: the trip-booking saga of notebook 11. Try it yourself first.

Each undo is registered right after its booking succeeded. A refused booking wrote
nothing, so it needs no undo (the activities refuse before they book). The car is the
last step: once it is booked the trip is done, so it needs no undo either.

``async with saga:`` compensates on any exception (a refusal, a booking that ran out of
retries, and also the ``asyncio.CancelledError`` of a workflow cancelled while it
waits), newest first, then re-raises it: the run ends FAILED or CANCELED, telling the
truth. A compensation that is refused makes it end FAILED with ``CompensationFailed``:
the other undos still ran, and a person must look at the one that did not.
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
            result.flight = await book("book_flight", trip)
            saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
            result.hotel = await book("book_hotel", trip)
            saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
            if trip.wait_seconds > 0:
                await workflow.sleep(trip.wait_seconds)  # the customer chooses a car; a cancel may arrive now
            result.car = await book("book_car", trip)
        return result
