"""Exercise 06's check: your saga when a step ends with its outcome unknown.

A ``timeout:3`` fault makes each of the step's 3 attempts do its work and lose its reply:
the step fails with its outcome unknown, and the work is there. A sixth order loses the
reply of ``create_order`` as an error instead (the service did the work, then the
connection broke) on every attempt: the retries run out, no timeout involved. And one
order's ``create_order`` is refused: a business error, nothing written, nothing to undo.
Each case is one order on a worker of the check's own; the verdict reads each run's
history (which undos were scheduled, after what) and the three services' state.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from saga_lab.faults import Fault, FaultInjector

from . import support
from .e05_plain_saga import Case, run_cases

MODULE = "e06_unknown_outcome"
WORKFLOW = "UnknownOutcomeSagaWorkflow"
CASES = (
    Case(()),
    Case(("charge=timeout:3",), ("refund",)),
    Case(("create_order=timeout:3",), ("cancel_order", "refund")),
    Case(("create_shipment=timeout:3",), ("cancel_shipment", "cancel_order", "refund")),
    Case(("create_order=permanent",), ("refund",)),
    Case((), ("cancel_order", "refund"), label="create_order's reply lost as an error on all 3 attempts"),
)
#: The order (by its place in CASES) whose create_order replies are lost as errors.
ERROR_AFTER_WORK = f"-{len(CASES) - 1}"
PASSED = (
    "a step that may have done its work (every attempt timed out, or its retries ran out) is undone like a step "
    "that succeeded, and a step the service refused is not: nothing is left behind, and nothing undone that was "
    "never done."
)


class ReplyLostAsError(FaultInjector):
    """``create_order`` of one order does its work, then fails with a retryable error, on every attempt."""

    def run(self, step: str, fault: Fault | None, work: Any, *args: Any) -> Any:
        result = super().run(step, fault, work, *args)
        if step == "create_order" and activity.info().workflow_id.endswith(ERROR_AFTER_WORK):
            raise ApplicationError("the order was created, but the connection broke before the reply", type="ReplyLost")
        return result


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    workflow_class = getattr(support.load(MODULE, WORKFLOW, module=module), WORKFLOW)
    return await run_cases(client, workflow_class, "e06", CASES, ReplyLostAsError())


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run ``UnknownOutcomeSagaWorkflow`` from ``exercises/e06_unknown_outcome.py`` through the cases."""
    return await support.judge("e06", PASSED, lambda: problem(client, module), client)
