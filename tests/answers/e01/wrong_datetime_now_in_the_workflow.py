# NOT YET naming "non-deterministic call", "datetime.datetime.now": the workflow reads the machine's clock
"""Exercise 01, wrong: ``datetime.now()`` inside the workflow (the sandbox refuses it)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow


@dataclass
class Greeting:
    name: str
    weekday: str


@activity.defn
async def compose_weekday_greeting(greeting: Greeting) -> str:
    return f"Hello, {greeting.name}! Happy {greeting.weekday}."


@workflow.defn
class WeekdayGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        weekday = datetime.now(UTC).strftime("%A")
        return await workflow.execute_activity(
            compose_weekday_greeting, Greeting(name, weekday), start_to_close_timeout=timedelta(seconds=5)
        )
