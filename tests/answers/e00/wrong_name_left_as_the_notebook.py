# NOT YET naming "still the notebook's 'Saga Lab'": the name of section 4 kept
"""Exercise 00, wrong: the notebook's own name, not the learner's."""

from saga_lab import connection
from saga_lab.checkout import new_order_id  # noqa: F401
from saga_lab.connection import task_queue
from saga_lab.workflows import HelloWorkflow


async def cell(lab, my_workflow_id: str) -> dict:
    """The exercise cell as the learner wrote it; returns the names the check cell reads."""
    my_name = "Saga Lab"
    my_greeting = await lab.client.execute_workflow(
        HelloWorkflow.run, my_name, id=my_workflow_id, task_queue=task_queue(lab.client, "workflow")
    )
    found = connection.temporal_cli(["workflow", "describe", "--workflow-id", my_workflow_id], lab.info)
    return {"my_name": my_name, "my_greeting": my_greeting, "found": found}
