# PASS: the order saga's way: an undo registered after a success, or a failure that was not a refusal
"""A learner's e12: register each undo by the booking's outcome, with the Saga helper."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from capstone.trip_activities import BOOKING_REJECTED, COMPENSATED, TripInput, TripResult, book, cancel
    from saga_lab.saga import Saga

UNDO = {"book_flight": "cancel_flight", "book_hotel": "cancel_hotel", "book_car": "cancel_car"}


@workflow.defn
class TripSagaWorkflow:
    @workflow.run
    async def run(self, trip: TripInput) -> TripResult:
        self.saga = Saga()
        result = TripResult(trip.trip_id)
        try:
            async with self.saga:
                result.flight = await self.step("book_flight", trip)
                result.hotel = await self.step("book_hotel", trip)
                if trip.wait_seconds > 0:
                    await workflow.sleep(trip.wait_seconds)
                result.car = await self.step("book_car", trip)
        except ActivityError as failure:
            if is_cancelled_exception(failure):
                raise
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(failure.cause))
        return result

    async def step(self, booking: str, trip: TripInput) -> str:
        undo = UNDO[booking]
        try:
            confirmation = await book(booking, trip)
        except ActivityError as err:
            refused = isinstance(err.cause, ApplicationError) and err.cause.type == BOOKING_REJECTED
            if not refused:  # no answer: it may have happened
                self.saga.add_compensation(undo, cancel, undo, trip)
            raise
        self.saga.add_compensation(undo, cancel, undo, trip)
        return confirmation
