"""Exercise 01 · your own hello world, solved: an activity, and a workflow that calls it.

``WeekdayGreetingWorkflow.run("Ada")`` returns ``"Hello, Ada! Happy Monday."`` on a
Monday (the weekday the run started on, in UTC); the text is made by the activity
``compose_weekday_greeting``, so the run's history records it.
"""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass
class Greeting:
    """The activity's one argument: who to greet, and on which weekday ("Monday", ...)."""

    name: str
    weekday: str


@activity.defn
async def compose_weekday_greeting(greeting: Greeting) -> str:
    """The activity: the place for real work (here, only making a string)."""
    return f"Hello, {greeting.name}! Happy {greeting.weekday}."


@workflow.defn
class WeekdayGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        # workflow.now() is the time recorded in the history: a replay reads the same
        # weekday. datetime.now() would be refused by the sandbox.
        weekday = workflow.now().strftime("%A")
        return await workflow.execute_activity(
            compose_weekday_greeting, Greeting(name, weekday), start_to_close_timeout=timedelta(seconds=5)
        )
