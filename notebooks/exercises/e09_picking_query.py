"""Exercise 09 · add a query.

``PickingWorkflow`` picks the items of an order in the warehouse, one at a time (walking to
each shelf takes a moment: a timer), and keeps the items picked so far in ``self.picked``.
While it runs, nobody can see how far it got: it has no query.

TODO: add a query named ``progress`` that answers a ``PickingProgress``: the items picked
so far, in order, and how many are still to pick. (``OrderSagaWorkflow.progress`` in
``saga_lab/workflows/order_saga.py`` is a query too.)

Edit this file, save it, and rerun the check cell in notebook 09: it starts the workflow
and asks ``progress`` while it runs and after it has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow


@dataclass
class PickingList:
    """The items of one order to pick, and how long walking to one shelf takes."""

    order_id: str
    items: list[str]
    seconds_per_item: float = 0.5


@dataclass
class PickingProgress:
    """What the ``progress`` query answers."""

    picked: list[str]
    remaining: int


@workflow.defn
class PickingWorkflow:
    """Pick the items one by one; returns them in the order picked."""

    @workflow.init
    def __init__(self, picking: PickingList) -> None:
        self.items = list(picking.items)
        self.picked: list[str] = []

    @workflow.run
    async def run(self, picking: PickingList) -> list[str]:
        for item in self.items:
            await workflow.sleep(timedelta(seconds=picking.seconds_per_item))  # walking to the shelf
            self.picked.append(item)
        return self.picked

    # TODO: a query named `progress` that answers a PickingProgress
