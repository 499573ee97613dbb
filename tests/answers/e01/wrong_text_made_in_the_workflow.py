# NOT YET naming "compose_weekday_greeting returned 'Hello!'": the workflow returns a text of its own
"""Exercise 01, wrong: TODO 1 left as it was; the workflow makes the greeting itself after calling the activity."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass
class Greeting:
    name: str
    weekday: str


@activity.defn
async def compose_weekday_greeting(greeting: Greeting) -> str:
    return "Hello!"


@workflow.defn
class WeekdayGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        weekday = workflow.now().strftime("%A")
        await workflow.execute_activity(
            compose_weekday_greeting, Greeting(name, weekday), start_to_close_timeout=timedelta(seconds=5)
        )
        return f"Hello, {name}! Happy {weekday}."
