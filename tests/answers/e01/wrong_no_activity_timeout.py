# NOT YET naming "ValueError", "start_to_close_timeout", "wrong_no_activity_timeout.py, line": no timeout
"""Exercise 01, wrong: ``execute_activity`` without a timeout (the SDK refuses the call in the workflow)."""

from dataclasses import dataclass

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
        return await workflow.execute_activity(compose_weekday_greeting, Greeting(name, workflow.now().strftime("%A")))
