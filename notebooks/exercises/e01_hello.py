"""Exercise 01 · your own hello world: an activity, and a workflow that calls it.

What it must do: ``WeekdayGreetingWorkflow.run("Ada")`` returns
``"Hello, Ada! Happy Monday."`` on a Monday (the weekday the run started on, in UTC),
and that text is made by the activity ``compose_weekday_greeting``, so the run's
history records it.

Fill in the TODOs, save the file, then run the check cell of notebook 01 again. The
check starts a worker for this file on a task queue of its own, runs the workflow,
and says what works or what is wrong. Keep the names: the check looks for them.
"""

from dataclasses import dataclass
from datetime import timedelta  # noqa: F401 (you will need it: TODO 4)

from temporalio import activity, workflow  # noqa: F401 (workflow: TODO 2 to 4)


@dataclass
class Greeting:
    """The activity's one argument: who to greet, and on which weekday ("Monday", ...)."""

    name: str
    weekday: str


@activity.defn
async def compose_weekday_greeting(greeting: Greeting) -> str:
    """The activity: the place for real work (here, only making a string)."""
    # TODO 1: return the text for `greeting`, e.g. "Hello, Ada! Happy Monday."
    return "Hello!"


# TODO 2: this class is not a Temporal workflow yet, and `run` is not its entry point:
#         a worker refuses it. Mark both, as HelloWorkflow does (notebook 01, section 3).
class WeekdayGreetingWorkflow:
    async def run(self, name: str) -> str:
        # TODO 3: the weekday this run started on, in UTC, found in a way that replays the
        #         same (notebook 01, section 7 lists what a workflow may use).
        # TODO 4: ask Temporal to run compose_weekday_greeting with a Greeting (an activity
        #         needs a start-to-close timeout), and return what it answers.
        return "Hello!"
