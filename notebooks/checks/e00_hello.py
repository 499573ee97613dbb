"""Check for exercise 00: greet yourself with ``HelloWorkflow``, then find the run.

The exercise cell of notebook 00 sets ``my_name``, runs ``HelloWorkflow`` with it under
``my_workflow_id``, keeps the result in ``my_greeting`` and what the ``temporal`` CLI
printed about the run in ``found``. The check asks the server about that run: its
history says which workflow ran, with what, and how it ended.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from saga_lab import history

from . import support

PASSED = "HelloWorkflow greeted {name} and you found the run with the CLI."


def _text(found: Any) -> str | None:
    """What the CLI printed, as kept: a string, or the lines of ``found = !temporal ...`` (a list)."""
    if isinstance(found, str):
        return found
    if isinstance(found, list | tuple) and all(isinstance(line, str) for line in found):
        return "\n".join(found)
    return None


async def problem(client: Client, name: Any, workflow_id: str, greeting: Any, found: Any) -> str | None:
    """What is not done yet, or None."""
    if not isinstance(name, str) or not name.strip():
        return f"my_name is {name!r}: put your name in it, as a string"
    if name == "Saga Lab":
        return "my_name is still the notebook's 'Saga Lab': put your own name in it"
    try:
        facts = history.facts(await client.get_workflow_handle(workflow_id).fetch_history())
    except RPCError:
        return f"the server has no workflow with the id {workflow_id!r}: start HelloWorkflow with exactly that id"
    if facts.workflow != "HelloWorkflow":
        return f"the run {workflow_id!r} is a {facts.workflow}, not a HelloWorkflow"
    if facts.input != name:
        return f"the run {workflow_id!r} greeted {facts.input!r}, not my_name ({name!r})"
    if facts.status != "COMPLETED":
        return (
            f"the run {workflow_id!r} is {facts.status}, not COMPLETED: is a worker polling the task queue you "
            f"started it on? (After the Clean up cell, none is: {support.RESTART}, and the exercise cell.)"
        )
    if greeting != facts.result:
        return f"my_greeting is {greeting!r}, but the run's result is {facts.result!r}: keep the result of your run"
    text = _text(found)
    if text is None or str(facts.result) not in text:
        return f"found should be what the temporal CLI prints about your run {workflow_id!r}; it is {found!r}"[:300]
    if workflow_id not in text and "COMPLETED" not in text and "Completed" not in text:
        return "found holds your greeting and nothing more: keep what the temporal CLI printed about your run"
    return None


async def check(client: Client, name: Any, workflow_id: str, greeting: Any, found: Any) -> bool:
    """Print PASS when your run greeted you and you found it with the CLI, else NOT YET and what is missing."""
    passed = PASSED.format(name=name)
    return await support.judge("e00", passed, lambda: problem(client, name, workflow_id, greeting, found), client)
