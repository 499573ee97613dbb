# NOT YET naming "my_greeting is", "but the run's result is": the greeting typed, not kept
"""Exercise 00, wrong: the run is started, but the greeting kept is typed by hand."""

from saga_lab import connection
from saga_lab.checkout import new_order_id  # noqa: F401
from saga_lab.connection import task_queue
from saga_lab.workflows import HelloWorkflow


async def cell(lab, my_workflow_id: str) -> dict:
    """The exercise cell as the learner wrote it; returns the names the check cell reads."""
    my_name = "Ada"
    await lab.client.execute_workflow(
        HelloWorkflow.run, my_name, id=my_workflow_id, task_queue=task_queue(lab.client, "workflow")
    )
    my_greeting = "Hello Ada"
    found = connection.temporal_cli(["workflow", "describe", "--workflow-id", my_workflow_id], lab.info)
    return {"my_name": my_name, "my_greeting": my_greeting, "found": found}
