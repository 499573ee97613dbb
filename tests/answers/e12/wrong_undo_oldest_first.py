# NOT YET naming "undo runs newest first": the undos run in the order they were registered
"""A learner's e12: a plain list of undos, walked forwards."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import COMPENSATED, TripInput, TripResult, book, cancel


@workflow.defn
class TripSagaWorkflow:
    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        undos: list[str] = []
        try:
            undos.append("cancel_flight")
            result.flight = await book("book_flight", trip)
            undos.append("cancel_hotel")
            result.hotel = await book("book_hotel", trip)
            if trip.wait_seconds > 0:
                await workflow.sleep(trip.wait_seconds)
            undos.append("cancel_car")
            result.car = await book("book_car", trip)
        except (ActivityError, asyncio.CancelledError) as stop:
            refused = []
            for undo in undos:
                try:
                    await cancel(undo, trip)
                except ActivityError as err:
                    refused.append(f"{undo}: {err.cause}")
            if refused:
                raise ApplicationError("needs a person: " + "; ".join(refused), non_retryable=True) from stop
            if is_cancelled_exception(stop):
                raise
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(stop))
        return result
