# NOT YET naming "cancelled while waiting for the car: undone: nothing": `except Exception` misses the cancel
"""A learner's e12: the plain pattern of notebook 05, with `except Exception`."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

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
        except Exception as failure:
            refused = []
            for undo in reversed(undos):
                try:
                    await cancel(undo, trip)
                except Exception as err:
                    refused.append(f"{undo}: {err}")
            if refused:
                raise ApplicationError("needs a person: " + "; ".join(refused), non_retryable=True) from failure
            return TripResult(trip.trip_id, status=COMPENSATED, error=str(failure))
        return result
