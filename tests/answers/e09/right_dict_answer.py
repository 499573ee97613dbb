# PASS: the query answers a plain dict with the same two fields (it travels as the same JSON)
"""A learner's e09: a dict instead of the dataclass."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

from exercises.e09_picking_query import PickingList


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
    def progress(self) -> dict:
        return {"picked": list(self.picked), "remaining": len(self.items) - len(self.picked)}
