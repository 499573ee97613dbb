# NOT YET naming "the server has no workflow with the id": a fresh id instead of my_workflow_id
"""Exercise 00, wrong: the run gets an id of its own, so the check's id finds nothing."""

from saga_lab import connection
from saga_lab.checkout import new_order_id
from saga_lab.connection import task_queue
from saga_lab.workflows import HelloWorkflow


async def cell(lab, my_workflow_id: str) -> dict:
    """The exercise cell as the learner wrote it; returns the names the check cell reads."""
    my_name = "Ada"
    other_id = new_order_id("ex00-me")
    my_greeting = await lab.client.execute_workflow(
        HelloWorkflow.run, my_name, id=other_id, task_queue=task_queue(lab.client, "workflow")
    )
    found = connection.temporal_cli(["workflow", "describe", "--workflow-id", other_id], lab.info)
    return {"my_name": my_name, "my_greeting": my_greeting, "found": found}
