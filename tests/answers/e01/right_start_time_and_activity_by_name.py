# PASS: the weekday from `workflow.info().start_time`, the activity called by its name with a result type
"""Exercise 01, right, another style: the run's start time from its info, the activity named as a string."""

from dataclasses import dataclass
from datetime import UTC, timedelta

from temporalio import activity, workflow


@dataclass
class Greeting:
    name: str
    weekday: str


@activity.defn(name="compose_weekday_greeting")
async def compose_weekday_greeting(greeting: Greeting) -> str:
    return f"Hello, {greeting.name}! Happy {greeting.weekday}."


@workflow.defn(name="WeekdayGreetingWorkflow")
class WeekdayGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        weekday = workflow.info().start_time.astimezone(UTC).strftime("%A")
        return await workflow.execute_activity(
            "compose_weekday_greeting",
            Greeting(name, weekday),
            start_to_close_timeout=timedelta(seconds=10),
            result_type=str,
        )
