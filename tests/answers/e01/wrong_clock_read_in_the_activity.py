# NOT YET naming "3 days ahead", "whose weekday is that": the activity reads its own clock, not the day the run started
"""Exercise 01, wrong: the weekday comes from the activity's clock when it runs, not from the run's start."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow


@dataclass
class Greeting:
    name: str
    weekday: str


@activity.defn
async def compose_weekday_greeting(greeting: Greeting) -> str:
    return f"Hello, {greeting.name}! Happy {datetime.now(UTC).strftime('%A')}."


@workflow.defn
class WeekdayGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(
            compose_weekday_greeting, Greeting(name, ""), start_to_close_timeout=timedelta(seconds=5)
        )
