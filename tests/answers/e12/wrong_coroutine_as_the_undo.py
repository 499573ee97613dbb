# NOT YET naming "is not callable", "workflow task": the undo registered as a coroutine, `cancel(...)`
"""A learner's e12: `add_compensation` given the call's result instead of what to call."""

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
                saga.add_compensation("cancel_flight", cancel("cancel_flight", trip))
                result.flight = await book("book_flight", trip)
                saga.add_compensation("cancel_hotel", cancel("cancel_hotel", trip))
                result.hotel = await book("book_hotel", trip)
                if trip.wait_seconds > 0:
                    await workflow.sleep(trip.wait_seconds)
                saga.add_compensation("cancel_car", cancel("cancel_car", trip))
                result.car = await book("book_car", trip)
        except ActivityError as failure:
            if is_cancelled_exception(failure):
                raise
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(failure.cause))
        return result
