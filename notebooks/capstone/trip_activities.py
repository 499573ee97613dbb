"""The trip's three services, as activities: given and complete, you do not need to change them.

A trip books a **flight**, a **hotel** and a **car**. Each booking has an undo
(``cancel_flight``, ``cancel_hotel``, ``cancel_car``) that is safe to run twice and safe
to run for a booking that never happened ("nothing to cancel" is a success).

The bookings live in :data:`STORE`, a tiny in-memory store shared by the activities
and the check: it keeps each trip's state and a journal of what happened, in order.
The activities run in the notebook's kernel (in-kernel workers), so they all see it.

Faults are injected per trip, as plain data in :class:`TripInput`:
``{"book_car": "permanent", "cancel_hotel": "transient:2"}``:

- ``permanent``: the provider refuses (non-retryable); nothing is written;
- ``transient:N``: the first N attempts fail with a retryable "temporarily unavailable";
  nothing is written;
- ``timeout:N``: the first N attempts do their work, then never answer: the booking is
  made, and Temporal only sees the attempt time out (a lost reply). A retry finds the
  booking made and answers with it (a booking is idempotent).

The last part, :func:`book` and :func:`cancel`, is for the *workflow*: each runs one
activity with the right timeout and retry policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

# How a trip ends: in the words of an order saga's result (COMPENSATED: for the workflow to return).
from saga_lab.models import COMPENSATED as COMPENSATED
from saga_lab.models import COMPLETED

KINDS = ("flight", "hotel", "car")
BOOKED = "BOOKED"
CANCELLED = "CANCELLED"

#: A refusal: the service said no, and retrying will not change its mind.
BOOKING_REJECTED = "BookingRejected"
CANCELLATION_REJECTED = "CancellationRejected"
NON_RETRYABLE = [BOOKING_REJECTED, CANCELLATION_REJECTED]


@dataclass
class TripInput:
    trip_id: str
    #: Faults to inject, e.g. {"book_car": "permanent", "cancel_hotel": "transient:2"}.
    faults: dict[str, str] = field(default_factory=dict)
    #: How long the customer may take to choose a car once flight and hotel are booked.
    wait_seconds: float = 0.0


@dataclass
class TripResult:
    """What the trip's workflow returns: its confirmations, and how the trip ended."""

    trip_id: str
    flight: str | None = None
    hotel: str | None = None
    car: str | None = None
    #: COMPLETED (all three booked) or COMPENSATED (a booking failed, and everything it left was undone).
    status: str = COMPLETED
    #: Why the trip was undone, when it was: the failed booking's error.
    error: str = ""


# ------------------------------------------------------------------ the store


class TripStore:
    """Each trip's bookings and a journal of every change, in order. In memory: a lab."""

    def __init__(self) -> None:
        self._state: dict[str, dict[str, str]] = {}
        self._journal: dict[str, list[str]] = {}

    def reset(self, trip_id: str) -> None:
        """Forget a trip, so it can be booked again from scratch."""
        self._state.pop(trip_id, None)
        self._journal.pop(trip_id, None)

    def book(self, trip_id: str, kind: str) -> str:
        state = self._state.setdefault(trip_id, {})
        if state.get(kind) != BOOKED:  # idempotent: a retried booking books once
            state[kind] = BOOKED
            self._journal.setdefault(trip_id, []).append(f"book_{kind}")
        return f"{kind}-{trip_id}"

    def cancel(self, trip_id: str, kind: str) -> bool:
        """Cancel a booking; False when there was nothing to cancel (also a success)."""
        state = self._state.setdefault(trip_id, {})
        if state.get(kind) != BOOKED:
            return False
        state[kind] = CANCELLED
        self._journal.setdefault(trip_id, []).append(f"cancel_{kind}")
        return True

    def journal(self, trip_id: str) -> list[str]:
        """What happened to the trip, in order: book_* and (effective) cancel_* entries."""
        return list(self._journal.get(trip_id, []))

    def booked(self, trip_id: str) -> list[str]:
        """What is still booked, in flight, hotel, car order."""
        state = self._state.get(trip_id, {})
        return [kind for kind in KINDS if state.get(kind) == BOOKED]


STORE = TripStore()


# ------------------------------------------------------------------ faults


def _apply_fault(trip: TripInput, step: str) -> None:
    """Fail before the work, as ``permanent`` and ``transient`` say."""
    kind, times = _fault(trip, step)
    if kind == "transient" and activity.info().attempt <= times:
        raise ApplicationError(
            f"{step}: the service is temporarily unavailable (injected fault)", type="ServiceUnavailable"
        )
    if kind == "permanent":
        rejected = BOOKING_REJECTED if step.startswith("book_") else CANCELLATION_REJECTED
        raise ApplicationError(f"{step}: refused by the provider (injected fault)", type=rejected, non_retryable=True)


def _fault(trip: TripInput, step: str) -> tuple[str, int]:
    kind, _, times = trip.faults.get(step, "").partition(":")
    return kind, int(times or 1)


def _lose_the_reply(trip: TripInput, step: str) -> None:
    """After the work, as ``timeout`` says: no reply ever reaches Temporal, and the attempt times out.

    (``raise_complete_async`` tells the worker that the answer will come later, from
    elsewhere; it never does.)
    """
    kind, times = _fault(trip, step)
    if kind == "timeout" and activity.info().attempt <= times:
        activity.raise_complete_async()


# ------------------------------------------------------------------ activities


@activity.defn
async def book_flight(trip: TripInput) -> str:
    """Book the flight; returns its confirmation id."""
    _apply_fault(trip, "book_flight")
    confirmation = STORE.book(trip.trip_id, "flight")
    _lose_the_reply(trip, "book_flight")
    return confirmation


@activity.defn
async def book_hotel(trip: TripInput) -> str:
    _apply_fault(trip, "book_hotel")
    confirmation = STORE.book(trip.trip_id, "hotel")
    _lose_the_reply(trip, "book_hotel")
    return confirmation


@activity.defn
async def book_car(trip: TripInput) -> str:
    _apply_fault(trip, "book_car")
    confirmation = STORE.book(trip.trip_id, "car")
    _lose_the_reply(trip, "book_car")
    return confirmation


@activity.defn
async def cancel_flight(trip: TripInput) -> bool:
    """Undo the flight; True if it was booked, False if there was nothing to cancel."""
    _apply_fault(trip, "cancel_flight")
    return STORE.cancel(trip.trip_id, "flight")


@activity.defn
async def cancel_hotel(trip: TripInput) -> bool:
    _apply_fault(trip, "cancel_hotel")
    return STORE.cancel(trip.trip_id, "hotel")


@activity.defn
async def cancel_car(trip: TripInput) -> bool:
    _apply_fault(trip, "cancel_car")
    return STORE.cancel(trip.trip_id, "car")


ACTIVITIES = [book_flight, book_hotel, book_car, cancel_flight, cancel_hotel, cancel_car]


# ------------------------------------------------------------------ for the workflow

#: A booking: a few quick retries for a busy service, none for a refusal.
BOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=3,
    non_retryable_error_types=NON_RETRYABLE,
)
#: An undo never gives up on a busy service (0 = no limit); only a refusal stops it.
CANCEL_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=100),
    maximum_interval=timedelta(seconds=1),
    maximum_attempts=0,
    non_retryable_error_types=NON_RETRYABLE,
)
#: Each attempt of a booking or an undo: the services answer in milliseconds, so 1 s means no answer.
TIMEOUT = timedelta(seconds=1)


async def book(step: str, trip: TripInput) -> str:
    """In a workflow: run ``book_flight``, ``book_hotel`` or ``book_car``; returns the confirmation id."""
    return await workflow.execute_activity(
        step, trip, start_to_close_timeout=TIMEOUT, retry_policy=BOOK_RETRY, result_type=str
    )


async def cancel(step: str, trip: TripInput) -> bool:
    """In a workflow: run ``cancel_flight``, ``cancel_hotel`` or ``cancel_car`` (retried until done or refused)."""
    return await workflow.execute_activity(
        step, trip, start_to_close_timeout=TIMEOUT, retry_policy=CANCEL_RETRY, result_type=bool
    )
