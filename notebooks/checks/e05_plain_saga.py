"""Exercise 05's check: your hand-built saga with a fault at each step, read from the three services.

Each case is one order on a worker of the check's own (``demos/sagas.py``). The verdict
reads the services' databases (is anything left: a charge, an ACTIVE order, a shipment?),
the order in which the undos ran (the history), and how Temporal says the run ended.
"""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from demos.sagas import LIMIT_S, SagaRun, practice_worker, run_on

from . import check as verdict
from . import fresh_id, practice

#: (faults, the undos that must run, in order). The first case must complete.
CASES = [
    ([], []),
    (["charge=permanent"], []),
    (["create_order=permanent"], ["refund"]),
    (["create_shipment=permanent"], ["cancel_order", "refund"]),
]


def problem(run: SagaRun, expected: list[str] | None = None) -> str | None:
    """What is wrong with one case, in one phrase (None: it is right); ``expected``: the undos' order, if judged."""
    if run.ended == "RUNNING":
        return f"with {run.fault} the run had not ended after {LIMIT_S:g} s"
    if not run.faults:
        if run.ended != "COMPLETED" or run.state.get("consistent") != "yes":
            return f"with no fault the order did not go through (the run ended {run.ended})"
        return None
    leftovers = run.leftovers()
    if leftovers:
        undone = f" (undone: {', '.join(run.undone)})" if run.undone else ", and nothing was undone"
        return f"with {run.fault} {', '.join(leftovers)}{undone}"
    if expected is not None and run.undone != expected and sorted(run.undone) == sorted(expected):
        return f"with {run.fault} the undos ran as {', '.join(run.undone)}: the newest step is undone first"
    if run.ended == "COMPLETED":
        return f"with {run.fault} the run ended COMPLETED although a step failed: Temporal shows no failure"
    return None


def problems(runs: list[SagaRun], expected: list[list[str] | None]) -> list[str]:
    """Every case's problem; a workflow whose code fails in the worker is said once, with its error."""
    broken = next((run for run in runs if run.ended == "BROKEN"), None)
    if broken is not None:
        return [f"your workflow's code raised an error in the worker, so its runs could not go on: {broken.error}"]
    return [p for run, undos in zip(runs, expected) if (p := problem(run, undos))]


async def check(client: Client) -> bool:
    """Run ``PlainSagaWorkflow`` from ``exercises/e05_plain_saga.py`` through the cases and print PASS or NOT YET."""
    saga = practice("e05_plain_saga").PlainSagaWorkflow
    base = fresh_id("ex05")
    async with practice_worker(client, saga, base) as worker:
        runs = await asyncio.gather(
            *(run_on(worker, saga, f"{base}-{i}", faults) for i, (faults, _) in enumerate(CASES))
        )
    found = problems(runs, [undos for _, undos in CASES])
    return verdict(
        not found,
        "a failure at any step leaves nothing behind: what was done is undone, newest first, "
        "and the run still ends FAILED, saying which step failed.",
        "; ".join(found) + ".",
    )
