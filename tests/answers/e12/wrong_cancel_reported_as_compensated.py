# NOT YET naming "expected CANCELED": a cancel through Temporal is undone, then reported as COMPENSATED
"""A learner's e12: every stop is "compensated", the customer's cancel included."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

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
                saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
                result.flight = await book("book_flight", trip)
                saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
                result.hotel = await book("book_hotel", trip)
                if trip.wait_seconds > 0:
                    await workflow.sleep(trip.wait_seconds)
                saga.add_compensation("cancel_car", cancel, "cancel_car", trip)
                result.car = await book("book_car", trip)
        except (ActivityError, asyncio.CancelledError) as stop:
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(stop) or "cancelled")
        return result
