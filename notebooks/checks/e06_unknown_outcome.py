"""Exercise 06's check: your saga when a step's every attempt times out, read from the three services.

A ``timeout:3`` fault makes each of the step's 3 attempts do its work and lose its reply:
the step fails with its outcome unknown, and the work is there. Each case is one order
on a worker of the check's own (``demos/sagas.py``); the verdict reads what the three
services still hold when the run has ended.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from demos.sagas import practice_worker, run_on

from . import check as verdict
from . import fresh_id, practice
from .e05_plain_saga import problems

#: The faults of each case. The first must complete; every other must leave nothing behind.
CASES = [
    [],
    ["charge=timeout:3"],
    ["create_order=timeout:3"],
    ["create_shipment=timeout:3"],
    ["create_order=permanent"],
]


async def check(client: Client) -> bool:
    """Run ``UnknownOutcomeSagaWorkflow`` from ``exercises/e06_unknown_outcome.py`` through the cases."""
    saga = practice("e06_unknown_outcome").UnknownOutcomeSagaWorkflow
    base = fresh_id("ex06")
    async with practice_worker(client, saga, base) as worker:
        runs = await asyncio.gather(*(run_on(worker, saga, f"{base}-{i}", faults) for i, faults in enumerate(CASES)))
    found = problems(runs, [None] * len(CASES))
    return verdict(
        not found,
        "a step that timed out on every attempt is undone like a step that succeeded, "
        "so a lost reply leaves nothing behind, whichever step lost it.",
        "; ".join(found) + ".",
    )
