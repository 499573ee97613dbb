"""Check for exercise 12, the capstone: your trip saga (``exercises/e12_trip_saga.py``) through a fault matrix.

It starts one worker for your ``TripSagaWorkflow`` and the six trip activities, on a
task queue of its own, runs every case of :data:`CASES` at once against the real
server, and judges each case by evidence outside the workflow: the store's journal
(which undos really cancelled something, in which order), what is still booked, and how
Temporal says the run ended. It prints one line per case, PASS or what is wrong, then
the verdict.

The faults it injects make activity attempts fail on purpose, so the SDK's per-attempt
warnings are quiet while it runs; a failing *workflow* task (a bug in your code) still
shows its one line.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType

from temporalio.client import Client

from capstone.trip_activities import KINDS, TripInput
from capstone.trips import TripOutcome, follow_trip, trip_task_queue, trip_worker
from saga_lab.notebook import check as verdict

from . import fresh_id, practice

MODULE = "e12_trip_saga"
WORKFLOW = "TripSagaWorkflow"
#: How long the "cancelled while waiting" trip would wait for its car if nobody cancelled it.
WAIT_SECONDS = 30.0
ALL = list(KINDS)


@dataclass(frozen=True)
class Case:
    name: str
    slug: str
    faults: dict[str, str] = field(default_factory=dict)
    #: The undos that must really cancel something, in this order.
    undone: list[str] = field(default_factory=list)
    #: What must still be booked at the end.
    booked: list[str] = field(default_factory=list)
    #: How Temporal must say the run ended; None: not judged (a failed trip may end FAILED,
    #: or COMPLETED if your workflow reports the failure in its result).
    status: str | None = None
    #: Cancel the workflow (Temporal's cancellation) while it waits between hotel and car.
    cancel_while_waiting: bool = False


UNDO_ALL = ["cancel_car", "cancel_hotel", "cancel_flight"]

CASES = [
    Case("all booked", "happy", {}, [], ALL, "COMPLETED"),
    Case("flight refused", "flight-refused", {"book_flight": "permanent"}, [], []),
    Case("hotel refused", "hotel-refused", {"book_hotel": "permanent"}, ["cancel_flight"], []),
    Case("car refused", "car-refused", {"book_car": "permanent"}, UNDO_ALL[1:], []),
    Case("hotel busy twice, then booked", "hotel-busy", {"book_hotel": "transient:2"}, [], ALL, "COMPLETED"),
    Case("hotel's reply lost once, then booked", "hotel-lost-once", {"book_hotel": "timeout:1"}, [], ALL, "COMPLETED"),
    Case("car busy on every attempt (never booked)", "car-busy", {"book_car": "transient:3"}, UNDO_ALL[1:], []),
    Case("hotel booked, its reply lost on every attempt", "hotel-lost", {"book_hotel": "timeout:3"}, UNDO_ALL[1:], []),
    Case("car booked, its reply lost on every attempt", "car-lost", {"book_car": "timeout:3"}, UNDO_ALL, []),
    Case(
        "car refused, cancel_hotel busy twice",
        "cancel-hotel-busy",
        {"book_car": "permanent", "cancel_hotel": "transient:2"},
        UNDO_ALL[1:],
        [],
    ),
    Case(
        "car refused, cancel_hotel refused",
        "cancel-hotel-refused",
        {"book_car": "permanent", "cancel_hotel": "permanent"},
        ["cancel_flight"],
        ["hotel"],
        "FAILED: CompensationFailed",
    ),
    Case(
        "cancelled while waiting for the car", "cancelled", {}, UNDO_ALL[1:], [], "CANCELED", cancel_while_waiting=True
    ),
]


@dataclass
class CaseResult:
    case: Case
    outcome: TripOutcome
    #: What is wrong, in one line ("" when the case passes).
    problem: str

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def undone(self) -> list[str]:
        return [entry for entry in self.outcome.journal if entry.startswith("cancel_")]

    def __str__(self) -> str:
        return f"PASS     {self.case.name}" if self.ok else f"NOT YET  {self.case.name}: {self.problem}"


def _say(undos: list[str]) -> str:
    return " then ".join(undos) if undos else "nothing"


def _listed(kinds: list[str]) -> str:
    return ", ".join(kinds) if kinds else "nothing"


def judge(case: Case, outcome: TripOutcome) -> str:
    """What is wrong with one trip's end, in one line; "" when it is what the case expects."""
    problems = []
    undone = [entry for entry in outcome.journal if entry.startswith("cancel_")]
    if undone != case.undone:
        problems.append(f"undone: {_say(undone)}, expected {_say(case.undone)}")
    if outcome.booked != case.booked:
        problems.append(f"still booked: {_listed(outcome.booked)}, expected {_listed(case.booked)}")
    if outcome.status.startswith("still running") or (case.status is not None and outcome.status != case.status):
        expected = f", expected {case.status}" if case.status else ""
        problems.append(f"the run ended {outcome.status}{expected}")
    return "; ".join(problems)


@contextmanager
def quiet_activity_logs() -> Iterator[None]:
    """The injected faults fail activity attempts on purpose: their warnings are quiet meanwhile."""
    logger = logging.getLogger("temporalio.activity")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def run_matrix(
    client: Client, workflow_cls: type, cases: list[Case] | None = None, **worker_options
) -> list[CaseResult]:
    """Every case at once, with one worker for ``workflow_cls``; one result per case, in order."""
    cases = cases or CASES
    queue = trip_task_queue(client)

    async def one(case: Case) -> CaseResult:
        trip = TripInput(
            fresh_id(f"ex12-{case.slug}"), dict(case.faults), WAIT_SECONDS if case.cancel_while_waiting else 0.0
        )
        outcome = await follow_trip(client, workflow_cls, trip, queue, cancel_while_waiting=case.cancel_while_waiting)
        return CaseResult(case, outcome, judge(case, outcome))

    with quiet_activity_logs():
        async with trip_worker(client, workflow_cls, queue, **worker_options):
            return list(await asyncio.gather(*(one(case) for case in cases)))


def _file() -> str:
    package = "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"
    return f"{package}/{MODULE}.py"


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run your trip saga through the fault matrix; print one line per case, then PASS or NOT YET."""
    if module is None:
        try:
            module = practice(MODULE)
        except Exception as err:  # a syntax error, a workflow class the SDK refuses at import
            return verdict(False, "", f"{_file()} does not import: {type(err).__name__}: {err}")
    workflow_cls = getattr(module, WORKFLOW, None)
    if workflow_cls is None:
        return verdict(False, "", f"{_file()} has no {WORKFLOW}: keep the name the file started with")
    try:
        results = await run_matrix(client, workflow_cls)
    except (TypeError, ValueError) as err:  # the worker validates the workflow class
        return verdict(False, "", f"the worker refuses your workflow: {err}")
    for result in results:
        print(result)
    failing = [r.case.name for r in results if not r.ok]
    return verdict(
        not failing,
        f"all {len(results)} cases: your trip saga undoes what was (or may have been) booked, newest first, "
        "through refusals, retries, lost replies, a refused undo and a cancellation.",
        f"{len(failing)} of {len(results)} cases are not right yet (the lines above say what happened in each).",
    )
