"""Exercise 09 · add a query: the solution.

A query is a method marked ``@workflow.query``: it reads the workflow's state and returns
it, and changes nothing (it may not await anything either). Its name is the method's name,
``progress``, unless ``@workflow.query(name=...)`` says otherwise.
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

    @workflow.query
    def progress(self) -> PickingProgress:
        """The items picked so far, and how many are still to pick."""
        return PickingProgress(picked=list(self.picked), remaining=len(self.items) - len(self.picked))
