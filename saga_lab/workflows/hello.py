"""The smallest workflow: one activity call, used to check the setup (notebooks 00 and 01)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ..activities import compose_greeting


@workflow.defn
class HelloWorkflow:
    """Greets ``name`` through the ``compose_greeting`` activity."""

    @workflow.run
    async def run(self, name: str) -> str:
        return await workflow.execute_activity(compose_greeting, name, start_to_close_timeout=timedelta(seconds=5))
