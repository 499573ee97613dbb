"""Exercise 09 · add a query.

``PickingWorkflow`` picks the items of an order in the warehouse, one at a time (walking to
each shelf takes a moment: a timer), and keeps the items picked so far in ``self.picked``.
While it runs, nobody can see how far it got: it has no query.

TODO: while the workflow runs, and after it has ended, anyone can ask it ``progress`` and
get a ``PickingProgress``: the items picked so far, in order (an item is picked once the
walk to its shelf is over), and how many are still to pick.

Edit this file, save it, and rerun the check cell in notebook 09: it starts the workflow,
asks ``progress`` while it runs and after it has ended, and holds each answer against the
run's history.
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

    # TODO: `progress`, the answer to "how far did you get?"
