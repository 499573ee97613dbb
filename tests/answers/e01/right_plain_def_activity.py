# PASS: a plain `def` activity (run on the worker's thread pool) and a schedule-to-close timeout
"""Exercise 01, right, another style: a synchronous activity, the weekday from ``workflow.now()``."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow


@dataclass
class Greeting:
    name: str
    weekday: str


@activity.defn
def compose_weekday_greeting(greeting: Greeting) -> str:
    return "Hello, " + greeting.name + "! Happy " + greeting.weekday + "."


@workflow.defn
class WeekdayGreetingWorkflow:
    @workflow.run
    async def run(self, name: str) -> str:
        greeting = Greeting(name=name, weekday=workflow.now().strftime("%A"))
        return await workflow.execute_activity(
            compose_weekday_greeting, greeting, schedule_to_close_timeout=timedelta(seconds=30)
        )
