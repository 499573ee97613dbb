# NOT YET naming "so it may have happened", "cancel_hotel was never scheduled": undos registered after success only
"""A learner's e12: the obvious first try, with the vocabulary's endings right."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import COMPENSATED, TripInput, TripResult, book, cancel
    from saga_lab.saga import Saga


@workflow.defn
class TripSagaWorkflow:
    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        saga = Saga()
        try:
            async with saga:
                result.flight = await book("book_flight", trip)
                saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
                result.hotel = await book("book_hotel", trip)
                saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
                if trip.wait_seconds > 0:
                    await workflow.sleep(trip.wait_seconds)
                result.car = await book("book_car", trip)
        except ActivityError as failure:
            if is_cancelled_exception(failure):
                raise
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(failure.cause))
        return result
