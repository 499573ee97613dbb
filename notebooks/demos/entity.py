"""Notebook 13's demo of a workflow that lives for years: one customer's store-credit account.

An *entity workflow* (one run per customer, as long as the customer exists) takes a signal
per event. Its history would grow without end, and a history has limits: the server suggests
continuing as new at 4,096 events or 4 MB, and fails the run at 51,200 events or 50 MB. So
:class:`StoreCreditWorkflow` continues as new when the server suggests it, and carries its
state into a fresh run with an empty history. :func:`credit_until_handover` sends it credits
until it has done so once, and reads the chain of runs.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client

with workflow.unsafe.imports_passed_through():
    from saga_lab.connection import task_queue, workflow_id

    from .workers import CountingFaults, KernelWorker

#: Credits sent at once, and how many of them are in flight together.
BATCH = 100
IN_FLIGHT = 32


@dataclass
class Handover:
    """What one run had when it continued as new."""

    events: int
    history_bytes: int
    suggested: bool


@dataclass
class Account:
    customer: str
    balance: int = 0
    entries: int = 0
    handovers: list[Handover] = field(default_factory=list)


@workflow.defn
class StoreCreditWorkflow:
    """A customer's store credit, for as long as the customer exists: a signal per credit."""

    @workflow.init
    def __init__(self, account: Account) -> None:
        self.account = account

    @workflow.run
    async def run(self, account: Account) -> None:
        await workflow.wait_condition(lambda: workflow.info().is_continue_as_new_suggested())
        await workflow.wait_condition(workflow.all_handlers_finished)  # no handler cut short
        info = workflow.info()
        self.account.handovers.append(
            Handover(info.get_current_history_length(), info.get_current_history_size(), True)
        )
        workflow.continue_as_new(self.account)  # a new run, an empty history, this state

    @workflow.signal
    def credit(self, cents: int) -> None:
        self.account.balance += cents
        self.account.entries += 1

    @workflow.query
    def state(self) -> Account:
        return self.account


async def credit_until_handover(client: Client, customer: str) -> tuple[int, Account, list[dict]]:
    """Credit ``customer`` 1 cent at a time until the account has continued as new once.

    Returns the credits sent, the account as the newest run holds it, and one row per run.
    """
    queue = task_queue(client, f"nb13-credit-{uuid.uuid4().hex[:6]}")
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    sent = 0
    async with KernelWorker(client, queue, [StoreCreditWorkflow], [], CountingFaults()):
        handle = await client.start_workflow(
            StoreCreditWorkflow.run,
            Account(customer),
            id=workflow_id(client, customer),
            task_queue=queue,
            task_timeout=timedelta(seconds=30),  # a task with hundreds of credits may take a while on a busy laptop
        )

        async def one() -> None:
            async with in_flight:
                await handle.signal(StoreCreditWorkflow.credit, 1)

        while not (await handle.query(StoreCreditWorkflow.state)).handovers:
            await asyncio.gather(*(one() for _ in range(BATCH)))
            sent += BATCH
        deadline = asyncio.get_running_loop().time() + 10.0
        while (account := await handle.query(StoreCreditWorkflow.state)).entries < sent:  # the newest run answers
            if asyncio.get_running_loop().time() > deadline:  # a signal lost: say so, the caller shows it
                break
            await asyncio.sleep(0.1)
        rows = []
        for number, run_id in enumerate((handle.first_execution_run_id, None), 1):
            run = client.get_workflow_handle(handle.id, run_id=run_id)
            events = len((await run.fetch_history()).events)
            rows.append({"run": number, "status": (await run.describe()).status.name, "events": events})
        await handle.terminate(reason="notebook 13: the demo account is closed")
    return sent, account, rows
