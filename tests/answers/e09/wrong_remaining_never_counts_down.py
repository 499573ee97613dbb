# NOT YET naming "4 remaining": `remaining` says how many items there are in all, not how many are left
"""A learner's e09: `remaining` is the length of the list."""

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
            await workflow.sleep(timedelta(seconds=picking.seconds_per_item))
            self.picked.append(item)
        return self.picked

    @workflow.query
    def progress(self) -> PickingProgress:
        return PickingProgress(picked=list(self.picked), remaining=len(self.items))
