"""Exercise 05's check: your hand-built saga with a fault at each step.

Each case is one order of its own, run at once on a worker of the check's own (your
workflow and the three services' six activities, one task queue, databases of the
check's own). The verdict reads each run's history (which undos were scheduled, in what
order, after what; how each ended), how Temporal says the run ended and what it
returned (vocabulary of notebook 05: a saga that undid everything COMPLETES, its result
says COMPENSATED), and the three services' state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from temporalio.client import Client

from saga_lab.checkout import end_state
from saga_lab.config import UNDO
from saga_lab.connection import workflow_id
from saga_lab.faults import FaultInjector, FaultPlan
from saga_lab.history import RunFacts
from saga_lab.models import OrderInput

from . import support

MODULE = "e05_plain_saga"
WORKFLOW = "PlainSagaWorkflow"
AMOUNT = 4999
RUN_S = 20.0
#: A refused step's error type, in the learner's words.
REFUSED = {"charge": "declined", "create_order": "rejected", "create_shipment": "refused"}
PASSED = (
    "a failure at any step leaves nothing behind: what was done is undone, newest first, nothing is undone "
    "that was never done, the run completes saying COMPENSATED, and an undo that fails for good needs a person."
)


@dataclass(frozen=True)
class Case:
    faults: tuple[str, ...]
    #: The undos that must run, in order; and how Temporal must end the run.
    undos: tuple[str, ...] = ()
    status: str = "COMPLETED"
    #: What the case is, when its faults do not say it.
    label: str = ""

    @property
    def fault(self) -> str:
        return self.label or ", ".join(self.faults) or "no fault"


CASES = (
    Case(()),
    Case(("charge=permanent",)),
    Case(("create_order=permanent",), ("refund",)),
    Case(("create_shipment=permanent",), ("cancel_order", "refund")),
    Case(("create_shipment=permanent", "refund=permanent"), ("cancel_order", "refund"), "FAILED"),
)


def undo_problem(case: Case, facts: RunFacts) -> str | None:
    """An undo scheduled for a step that wrote nothing, one that failed, or undos in the wrong order."""
    step_of = {undo: step for step, undo in UNDO.items()}
    ran = set(facts.scheduled)
    for step, undo in facts.undos_of_refused():
        return (
            f"with {case.fault} `{undo.name}` was scheduled although `{step.name}` was {REFUSED[step.name]} "
            f"({step.failure_type}, a business error: nothing was written)"
        )
    for undo in facts.undos:
        if step_of[undo.name] not in ran:
            return f"with {case.fault} `{undo.name}` was scheduled although `{step_of[undo.name]}` never ran"
    expected_failure = "refund=permanent" in case.faults
    for undo in facts.undos:
        if undo.outcome != "completed" and not (expected_failure and undo.name == "refund"):
            return (
                f"with {case.fault} `{undo.name}` was scheduled and {undo.outcome}: {undo.failure_type}: {undo.failure}"
            )
    names = [undo.name for undo in facts.undos]
    if names != list(case.undos) and sorted(names) == sorted(case.undos):
        return f"with {case.fault} your workflow scheduled {' before '.join(names)}: undo runs newest first"
    return None


async def problem_of(case: Case, facts: RunFacts, order_id: str, home: Path) -> str | None:
    """What is wrong with one case, in one phrase (None: it is right)."""
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_S, f"with {case.fault} the run")
    found = undo_problem(case, facts)
    if found:
        return found
    row = await end_state(None, order_id, home)
    if case.status == "FAILED":
        if "refund" not in [undo.name for undo in facts.undos]:
            return None  # nothing was undone: the other cases say so
        if facts.status != "FAILED" or "needs a person" not in (facts.reason or ""):
            return (
                f"with {case.fault} the refund failed for good, yet the run ended {facts.status} "
                f"({facts.reason or repr(facts.result)}): an undo that fails for good needs a person"
            )
        return None
    leftovers = [
        what
        for what, left in (
            (f"the customer is still charged {row['net']}", (row["net"] or 0) > 0),
            ("the order is still ACTIVE", row["order"] == "ACTIVE"),
            ("a shipment is still booked", row["shipment"] == "CREATED"),
        )
        if left
    ]
    if case.fault == "no fault":
        if facts.status != "COMPLETED" or len(leftovers) != 3 or row["net"] != AMOUNT:
            return f"with no fault the order did not go through (the run ended {facts.status}: {facts.failure})"
        return None
    if leftovers:
        undone = [undo.name for undo in facts.undos if undo.outcome == "completed"]
        said = f" (undone: {', '.join(undone)})" if undone else ", and nothing was undone"
        return f"with {case.fault} {', '.join(leftovers)}{said}"
    if facts.status != "COMPLETED" or not str(facts.result).startswith("COMPENSATED"):
        return (
            f"with {case.fault} everything was undone, but the run ended {facts.status} "
            f"({facts.failure or repr(facts.result)}): a saga that undid everything did its job, so its run "
            "completes and its result says COMPENSATED (FAILED is for a person to act on)"
        )
    return None


async def run_cases(
    client: Client, workflow_class: type, exercise: str, cases: tuple[Case, ...], faults: FaultInjector | None = None
) -> str | None:
    """Each case as one order, all at once, on a worker of the check's own; every case's problem, or None."""
    client = await support.quiet_client(client)
    run = support.fresh_id(f"ex{exercise[1:]}")
    queue = support.queue_name(client, run)

    async def place(n: int, case: Case) -> RunFacts:
        order = OrderInput(f"{run}-{n}", AMOUNT, FaultPlan.parse([f for f in case.faults if "=" in f]))
        handle = await client.start_workflow(
            workflow_class.run, order, id=workflow_id(client, order.order_id), task_queue=queue
        )
        return await support.finish(handle, RUN_S, f"the run with {case.fault}")

    with support.private_services() as (home, stores):
        activities = support.all_service_activities(stores, faults)
        async with support.kernel_worker(client, queue, workflows=[workflow_class], activities=activities):
            runs = await asyncio.gather(*(place(n, case) for n, case in enumerate(cases)))
        found = [await problem_of(case, facts, f"{run}-{n}", home) for n, (case, facts) in enumerate(zip(cases, runs))]
    found = [line for line in found if line]
    return "; ".join(found) + "." if found else None


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    workflow_class = getattr(support.load(MODULE, WORKFLOW, module=module), WORKFLOW)
    return await run_cases(client, workflow_class, "e05", CASES)


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run ``PlainSagaWorkflow`` from ``exercises/e05_plain_saga.py`` through the cases and print PASS or NOT YET."""
    return await support.judge("e05", PASSED, lambda: problem(client, module), client)
