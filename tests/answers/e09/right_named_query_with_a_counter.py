# PASS: a counter instead of a list, and the query named by @workflow.query(name="progress")
"""A learner's e09: the workflow counts picks; the query derives the items from the count."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from exercises.e09_picking_query import PickingList, PickingProgress


@workflow.defn
class PickingWorkflow:
    @workflow.init
    def __init__(self, picking: PickingList) -> None:
        self.items = list(picking.items)
        self.count = 0

    @workflow.run
    async def run(self, picking: PickingList) -> list[str]:
        for _ in self.items:
            await workflow.sleep(timedelta(seconds=picking.seconds_per_item))
            self.count += 1
        return self.items[: self.count]

    @workflow.query(name="progress")
    def how_far(self) -> PickingProgress:
        return PickingProgress(picked=self.items[: self.count], remaining=len(self.items) - self.count)
