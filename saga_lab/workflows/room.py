"""The room: one long-lived workflow per workshop room that keeps every learner's last verdict per exercise.

An *entity workflow*: it stands for one thing (the room) and lives as long as it does. Learners'
exercise checks **signal** it with a :class:`Verdict`; the instructor **queries** it for the room's
progress (:class:`RoomState`); before its history grows large it **continues as new**, carrying its
state into a fresh run with the same workflow id. It does no I/O and starts no activity: everything
it knows arrived as a signal, so a killed worker loses nothing (the next one replays the history).

Only verdicts travel: the exercise, PASS or NOT YET, the first line of the check's message, a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

#: The workflow id of a room (``saga-lab-room`` for the room everyone reports to; a rehearsal has its own name).
ROOM_ID_PREFIX = "saga-lab-room"
#: The task queue the room's worker polls (no learner prefix: it is the instructor's).
ROOM_TASK_QUEUE = "saga-lab-room"
#: Verdicts one run takes before it continues as new (each adds three events to the history).
CONTINUE_EVERY = 1000
#: The longest message kept per verdict (its first line only).
MESSAGE_CHARS = 200

PASS = "PASS"
NOT_YET = "NOT YET"


@dataclass
class Verdict:
    """What a check sends: who, which exercise, PASS or not, the message's first line, when (Unix seconds)."""

    learner: str
    exercise: str
    passed: bool
    message: str
    at: float


@dataclass
class Attempt:
    """A learner's standing on one exercise: the last verdict, and how many times the check ran."""

    passed: bool
    message: str
    at: float
    tries: int = 1

    @property
    def word(self) -> str:
        return PASS if self.passed else NOT_YET


@dataclass
class Change:
    """One learner's exercise changed verdict (first try, NOT YET -> PASS, PASS -> NOT YET): the chart's points."""

    at: float
    learner: str
    exercise: str
    passed: bool


@dataclass
class RoomState:
    """Everything the room knows; the input of each run and the answer to the ``progress`` query."""

    name: str
    opened_at: float = 0.0
    #: learner -> exercise -> their last verdict
    learners: dict[str, dict[str, Attempt]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    #: Verdicts received since the room opened, over all its runs.
    verdicts: int = 0
    #: How many times the room continued as new.
    runs: int = 0
    #: Verdicts one run takes before it continues as new.
    continue_every: int = CONTINUE_EVERY


@workflow.defn
class RoomWorkflow:
    """A workshop room: signals ``verdict`` in, query ``progress`` out, signal ``close`` to end it."""

    @workflow.init
    def __init__(self, state: RoomState) -> None:
        self.state = state
        self.received = 0  # in this run
        self.closed = False

    @workflow.run
    async def run(self, state: RoomState) -> RoomState:
        if not self.state.opened_at:
            self.state.opened_at = workflow.now().timestamp()
        await workflow.wait_condition(
            lambda: (
                self.closed
                or self.received >= self.state.continue_every
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.closed:
            return self.state
        self.state.runs += 1
        workflow.continue_as_new(self.state)

    @workflow.signal
    def verdict(self, verdict: Verdict) -> None:
        self.received += 1
        self.state.verdicts += 1
        exercises = self.state.learners.setdefault(verdict.learner, {})
        before = exercises.get(verdict.exercise)
        message = (verdict.message.splitlines() or [""])[0][:MESSAGE_CHARS]
        tries = before.tries + 1 if before else 1
        exercises[verdict.exercise] = Attempt(verdict.passed, message, verdict.at, tries)
        if before is None or before.passed != verdict.passed:
            self.state.changes.append(Change(verdict.at, verdict.learner, verdict.exercise, verdict.passed))

    @workflow.signal
    def close(self) -> None:
        self.closed = True

    @workflow.query
    def progress(self) -> RoomState:
        return self.state
