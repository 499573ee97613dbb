# NOT YET naming "my_greeting is", "keep the result of your run": the handle, not its result
"""Exercise 00, wrong: start_workflow returns a handle at once; the greeting is its result."""

from saga_lab import connection
from saga_lab.checkout import new_order_id  # noqa: F401
from saga_lab.connection import task_queue
from saga_lab.workflows import HelloWorkflow


async def cell(lab, my_workflow_id: str) -> dict:
    """The exercise cell as the learner wrote it; returns the names the check cell reads."""
    my_name = "Ada"
    my_greeting = await lab.client.start_workflow(
        HelloWorkflow.run, my_name, id=my_workflow_id, task_queue=task_queue(lab.client, "workflow")
    )
    await my_greeting.result()
    found = connection.temporal_cli(["workflow", "describe", "--workflow-id", my_workflow_id], lab.info)
    return {"my_name": my_name, "my_greeting": my_greeting, "found": found}
