"""Check for exercise 12, the capstone: your trip saga (``exercises/e12_trip_saga.py``) through a fault matrix.

It starts one worker for your ``TripSagaWorkflow`` and the six trip activities, on a task
queue of its own, runs every case of :data:`CASES` at once against the real server, and
judges each case by evidence outside the workflow: the store's journal (which undos really
cancelled something, in which order), what is still booked, how Temporal says the run ended
and what the workflow returned. Where an undo is missing, the run's history says why: the
booking it belongs to, and how that booking ended. It prints one line per case, PASS or what
is wrong, then the verdict. A bug in your workflow's code (a failing workflow task) ends the
check at once with its one line.

How a trip must end is the lab's one vocabulary (notebook 05): a run fails only when a person
must act. A booking that failed, with every undo done: the run COMPLETES and the trip says
COMPENSATED. A cancel through Temporal, every undo done: the run ends CANCELED. An undo
refused: the run FAILS, whatever stopped the trip.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import ModuleType

from temporalio.client import Client

from capstone.trip_activities import COMPENSATED, COMPLETED, KINDS, TripInput
from capstone.trips import TripOutcome, follow_trip, once_the_car_is_booked, trip_task_queue, trip_worker, while_waiting

from . import support

MODULE = "e12_trip_saga"
WORKFLOW = "TripSagaWorkflow"
#: How long a trip that is cancelled while waiting would wait for its car if nobody cancelled it.
WAIT_SECONDS = 30.0
ALL = list(KINDS)
UNDO_ALL = ["cancel_car", "cancel_hotel", "cancel_flight"]
#: When a case cancels its workflow through Temporal.
CANCEL_WHEN = {"waiting": while_waiting, "car booked": once_the_car_is_booked}


@dataclass(frozen=True)
class Case:
    name: str
    slug: str
    faults: dict[str, str] = field(default_factory=dict)
    #: The undos that must really cancel something, in this order.
    undone: list[str] = field(default_factory=list)
    #: What must still be booked at the end.
    booked: list[str] = field(default_factory=list)
    #: How Temporal must say the run ended: COMPLETED, CANCELED or FAILED.
    run: str = "COMPLETED"
    #: When the run completes, what the trip's result must say: COMPLETED or COMPENSATED.
    trip: str = COMPENSATED
    #: Cancel the workflow through Temporal: "waiting" (for the car) or "car booked" (its reply not back yet).
    cancel: str = ""

    @property
    def ending(self) -> str:
        return f"{self.run}, the trip {self.trip}" if self.run == "COMPLETED" else self.run


CASES = [
    Case("all booked", "happy", {}, [], ALL, trip=COMPLETED),
    Case("flight refused", "flight-refused", {"book_flight": "permanent"}, [], []),
    Case("hotel refused", "hotel-refused", {"book_hotel": "permanent"}, ["cancel_flight"], []),
    Case("car refused", "car-refused", {"book_car": "permanent"}, UNDO_ALL[1:], []),
    Case("hotel busy twice, then booked", "hotel-busy", {"book_hotel": "transient:2"}, [], ALL, trip=COMPLETED),
    Case(
        "hotel's reply lost once, then booked", "hotel-lost-once", {"book_hotel": "timeout:1"}, [], ALL, trip=COMPLETED
    ),
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
        run="FAILED",
    ),
    Case("cancelled while waiting for the car", "cancelled", {}, UNDO_ALL[1:], [], run="CANCELED", cancel="waiting"),
    Case(
        "cancelled while the car's reply is on its way",
        "cancelled-car",
        {"book_car": "timeout:3"},
        UNDO_ALL,
        [],
        run="CANCELED",
        cancel="car booked",
    ),
    Case(
        "cancelled while waiting, cancel_hotel refused",
        "cancelled-hotel-refused",
        {"cancel_hotel": "permanent"},
        ["cancel_flight"],
        ["hotel"],
        run="FAILED",
        cancel="waiting",
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

    def __str__(self) -> str:
        return f"PASS     {self.case.name}" if self.ok else f"NOT YET  {self.case.name}: {self.problem}"


def _say(undos: list[str]) -> str:
    return " then ".join(undos) if undos else "nothing"


def _listed(kinds: list[str]) -> str:
    return ", ".join(kinds) if kinds else "nothing"


def _why_not_undone(undo: str, outcome: TripOutcome) -> str:
    """What the history shows about an undo that should have cancelled something and did not."""
    facts = outcome.facts
    if facts is None:
        return ""
    booking = "book_" + undo.removeprefix("cancel_")
    scheduled = facts.of(undo)
    if scheduled:
        run = scheduled[-1]
        return f"{undo} was scheduled and ended {run.outcome}" + (f": {run.failure}" if run.failure else "")
    runs = facts.of(booking)
    if not runs:
        return f"{booking} was never scheduled, nor {undo}"
    run = runs[-1]
    if run.outcome == "completed":
        how = f"{booking} succeeded"
    elif run.failure_type and run.failure_type.endswith("Timeout"):
        how = f"{booking} timed out on all {run.attempts} attempts, so it may have happened"
    elif run.outcome in ("scheduled", "running", "cancelled"):
        how = f"{booking} had not answered when the trip stopped, so it may have happened"
    else:
        how = f"{booking} failed after {run.attempts} attempt(s): {run.failure}"
    return f"{how}, and {undo} was never scheduled"


#: Why an ending is wrong, by (expected, found) run status.
_ENDINGS = {
    ("COMPLETED", "FAILED"): "a run fails only when a person must act, and here every undo was done",
    ("COMPLETED", "CANCELED"): "nobody cancelled this trip",
    ("FAILED", "COMPLETED"): "when an undo is refused, something stays booked and a person must act: the run fails",
    ("FAILED", "CANCELED"): "when an undo is refused, a person must act, whatever stopped the trip: the run fails",
    ("CANCELED", "COMPLETED"): "the workflow was cancelled through Temporal: after the undos, the cancellation goes on",
    ("CANCELED", "FAILED"): "the workflow was cancelled and every undo was done: nobody needs to act",
}


def judge(case: Case, outcome: TripOutcome) -> str:
    """What is wrong with one trip's end, in one line; "" when it is what the case expects."""
    problems = []
    undone = [entry for entry in outcome.journal if entry.startswith("cancel_")]
    if undone != case.undone:
        problem = f"undone: {_say(undone)}, expected {_say(case.undone)}"
        missing = [undo for undo in case.undone if undo not in undone]
        if missing:
            problem += f" ({_why_not_undone(missing[0], outcome)})"
        elif sorted(undone) == sorted(case.undone):
            problem += " (undo runs newest first)"
        problems.append(problem)
    if outcome.booked != case.booked:
        problems.append(f"still booked: {_listed(outcome.booked)}, expected {_listed(case.booked)}")
    if outcome.run == "RUNNING":
        problems.append(f"the run had not ended: {outcome.error}")
    elif outcome.ending != case.ending:
        why = _ENDINGS.get((case.run, outcome.run), "")
        problems.append(f"the run ended {outcome.ending}, expected {case.ending}" + (f": {why}" if why else ""))
    return "; ".join(problems)


async def run_matrix(
    client: Client, workflow_cls: type, cases: list[Case] | None = None, **worker_options
) -> list[CaseResult]:
    """Every case at once, with one worker for ``workflow_cls``; one result per case, in order.

    A failing workflow task in any case raises :class:`~checks.support.NotYet` at once (the others are stopped).
    """
    cases = cases or CASES
    queue = trip_task_queue(client)

    async def one(case: Case) -> CaseResult:
        wait = WAIT_SECONDS if case.cancel == "waiting" else 0.0
        trip = TripInput(support.fresh_id(f"ex12-{case.slug}"), dict(case.faults), wait)
        cancel_when = CANCEL_WHEN[case.cancel] if case.cancel else None
        outcome = await follow_trip(client, workflow_cls, trip, queue, cancel_when=cancel_when)
        return CaseResult(case, outcome, judge(case, outcome))

    async with trip_worker(client, workflow_cls, queue, **worker_options):
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(case)) for case in cases]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
    return [task.result() for task in tasks]


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run your trip saga through the fault matrix; print one line per case, then PASS or NOT YET."""

    async def body() -> str | None:
        learner = support.load(MODULE, WORKFLOW, module=module)
        results = await run_matrix(client, getattr(learner, WORKFLOW))
        for result in results:
            print(result)
        failing = [result for result in results if not result.ok]
        if failing:
            return (
                f"{len(failing)} of {len(results)} cases are not right yet (the lines above say what happened in each)."
            )
        return None

    return await support.judge(
        "e12",
        f"all {len(CASES)} cases: your trip saga undoes what was (or may have been) booked, newest first, through "
        "refusals, retries, lost replies, refused undos and cancellations, and ends each trip as it happened.",
        body,
        client,
    )
