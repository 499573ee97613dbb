# NOT YET naming "3 days ahead", "whose weekday is that": the weekday is typed in (today's, so the runs of today pass)
"""Exercise 01, wrong: the learner typed the day they did the exercise (``TODAY`` stands for that typed string)."""

import time
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

TODAY = time.strftime("%A", time.gmtime())  # what the learner typed: "Friday", on a Friday


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
        return await workflow.execute_activity(
            compose_weekday_greeting, Greeting(name, TODAY), start_to_close_timeout=timedelta(seconds=5)
        )
