# NOT YET naming "a run fails only when a person must act": every undo done, then the run fails
"""A learner's e12: the Saga helper's `async with` alone, which re-raises the failure after the undos."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import TripInput, TripResult, book, cancel
    from saga_lab.saga import Saga


@workflow.defn
class TripSagaWorkflow:
    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        result = TripResult(trip.trip_id)
        async with Saga() as saga:
            saga.add_compensation("cancel_flight", cancel, "cancel_flight", trip)
            result.flight = await book("book_flight", trip)
            saga.add_compensation("cancel_hotel", cancel, "cancel_hotel", trip)
            result.hotel = await book("book_hotel", trip)
            if trip.wait_seconds > 0:
                await workflow.sleep(trip.wait_seconds)
            saga.add_compensation("cancel_car", cancel, "cancel_car", trip)
            result.car = await book("book_car", trip)
        return result
