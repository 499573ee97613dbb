# NOT YET naming "before it is picked": an item joins `picked` when the walk to its shelf starts
"""A learner's e09: the loop notes the item first, "so the query sees what is being picked"."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from exercises.e09_picking_query import PickingList, PickingProgress


@workflow.defn
class PickingWorkflow:
    @workflow.init
    def __init__(self, picking: PickingList) -> None:
        self.items = list(picking.items)
        self.picked: list[str] = []

    @workflow.run
    async def run(self, picking: PickingList) -> list[str]:
        for item in self.items:
            self.picked.append(item)
            await workflow.sleep(timedelta(seconds=picking.seconds_per_item))
        return self.picked

    @workflow.query
    def progress(self) -> PickingProgress:
        return PickingProgress(picked=list(self.picked), remaining=len(self.items) - len(self.picked))
