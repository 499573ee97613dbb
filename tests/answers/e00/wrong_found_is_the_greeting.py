# NOT YET naming "found holds your greeting and nothing more": the CLI never asked
"""Exercise 00, wrong: found is the greeting itself, not what the CLI printed."""

from saga_lab.checkout import new_order_id  # noqa: F401
from saga_lab.connection import task_queue
from saga_lab.workflows import HelloWorkflow


async def cell(lab, my_workflow_id: str) -> dict:
    """The exercise cell as the learner wrote it; returns the names the check cell reads."""
    my_name = "Ada"
    my_greeting = await lab.client.execute_workflow(
        HelloWorkflow.run, my_name, id=my_workflow_id, task_queue=task_queue(lab.client, "workflow")
    )
    found = my_greeting
    return {"my_name": my_name, "my_greeting": my_greeting, "found": found}
