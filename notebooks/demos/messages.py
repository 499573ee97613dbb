"""Notebook 06's demo of a workflow's two kinds of message: a signal, and an update.

:class:`DeliveryNotesWorkflow` collects a customer's delivery notes (signals: one way, no
answer) until the parcel is handed over (an update: validated, answered). Started on a task
queue that no worker polls yet, it shows which of the two the server records on its own.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.client import Client

with workflow.unsafe.imports_passed_through():
    from .workers import CountingFaults, KernelWorker


@workflow.defn
class DeliveryNotesWorkflow:
    """Delivery notes for one parcel, until it is handed over; returns the notes."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.handed_over = False

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: self.handed_over)
        return self.notes

    @workflow.signal
    def add_note(self, note: str) -> None:
        self.notes.append(note)

    @workflow.update
    def hand_over(self) -> int:
        """Hand the parcel over; answers how many notes the courier got."""
        self.handed_over = True
        return len(self.notes)

    @hand_over.validator
    def _not_twice(self) -> None:
        if self.handed_over:
            raise ValueError("the parcel was already handed over")


def notes_worker(client: Client, task_queue: str) -> KernelWorker:
    """A worker for :class:`DeliveryNotesWorkflow` on ``task_queue`` (``async with``)."""
    return KernelWorker(client, task_queue, [DeliveryNotesWorkflow], [], CountingFaults())
