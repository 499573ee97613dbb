"""Check for exercise 00: greet yourself with ``HelloWorkflow``, then find the run.

The exercise cell of notebook 00 sets ``my_name``, runs ``HelloWorkflow`` with it under
``my_workflow_id``, keeps the result in ``my_greeting`` and what the ``temporal`` CLI
printed about the run in ``found``. The check asks the server about that run.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from saga_lab import history
from saga_lab.notebook import check as verdict


async def problem(client: Client, name: Any, workflow_id: str, greeting: Any, found: Any) -> str | None:
    """What is not done yet, or None."""
    if not isinstance(name, str) or not name.strip():
        return f"my_name is {name!r}: put your name in it, as a string"
    if name == "Saga Lab":
        return "my_name is still the notebook's 'Saga Lab': put your own name in it"
    try:
        run = await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError:
        return f"the server has no workflow with the id {workflow_id!r}: start HelloWorkflow with exactly that id"
    records = history.events(run)
    started = records[0]
    if started.name != "HelloWorkflow":
        return f"the run {workflow_id!r} is a {started.name}, not a HelloWorkflow"
    if started.value != name:
        return f"the run {workflow_id!r} greeted {started.value!r}, not my_name ({name!r})"
    if records[-1].kind != "WorkflowExecutionCompleted":
        return (
            f"the run {workflow_id!r} has not completed (its last event is {records[-1].kind}): "
            "is a worker polling the task queue you started it on?"
        )
    result = records[-1].value
    if greeting != result:
        return f"my_greeting is {greeting!r}, but the run's result is {result!r}: keep the result of your run"
    # `workflow describe` prints the id and the result; `workflow show` the events and the result.
    about_the_run = isinstance(found, str) and (workflow_id in found or "WorkflowExecutionCompleted" in found)
    if not about_the_run or str(result) not in found:
        return f"found should be what the temporal CLI prints about your run {workflow_id!r}; it is {found!r}"[:300]
    return None


async def check(client: Client, name: Any, workflow_id: str, greeting: Any, found: Any) -> bool:
    """Print PASS when your run greeted you and you found it with the CLI, else NOT YET and what is missing."""
    missing = await problem(client, name, workflow_id, greeting, found)
    return verdict(missing is None, f"HelloWorkflow greeted {name} and you found the run with the CLI.", missing or "")
