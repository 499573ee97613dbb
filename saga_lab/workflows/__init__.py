"""Workflows: orchestration only. Every side effect happens in an activity.

- :class:`HelloWorkflow`: one activity, the first workflow of the workshop;
- :class:`NaiveOrderWorkflow`: payment -> order -> shipping with retries and no undo;
- :class:`OrderSagaWorkflow`: the same steps as a saga: what was done is undone when a
  later step fails, the order is cancelled or its deadline passes;
- :class:`RoomWorkflow`: a workshop room (an entity workflow: signals, a query, continue-as-new),
  run by the instructor's own worker, not by a learner's.

They live in a package, not in a notebook cell: the worker's sandbox imports a
workflow's module afresh from its file for each run, and a kernel's ``__main__`` has
no file. ``@workflow.defn(sandboxed=False)`` runs a workflow from a cell, without the
sandbox's protection (notebook 01 shows both). The imports under
``workflow.unsafe.imports_passed_through()`` are handed to the sandbox as they are
loaded outside it, not imported again for every run.
"""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from ..models import (
        CANCELLED,
        COMPENSATED,
        COMPLETED,
        FAILED,
        RUNNING,
        OrderInput,
        OrderResult,
        Progress,
    )
from .hello import HelloWorkflow
from .naive import NaiveOrderWorkflow
from .order_saga import OrderCancelledByCustomer, OrderSagaWorkflow
from .policies import COMPENSATION_RETRY, FAILED_STEP, ORDER_STATUS, STEP_RETRY, STEP_TIMEOUT, is_business_failure
from .room import RoomWorkflow

#: Every workflow a ``workflow`` worker runs.
WORKFLOWS = [OrderSagaWorkflow, NaiveOrderWorkflow, HelloWorkflow]

__all__ = [
    "CANCELLED",
    "COMPENSATED",
    "COMPENSATION_RETRY",
    "COMPLETED",
    "FAILED",
    "FAILED_STEP",
    "ORDER_STATUS",
    "RUNNING",
    "STEP_RETRY",
    "STEP_TIMEOUT",
    "WORKFLOWS",
    "HelloWorkflow",
    "NaiveOrderWorkflow",
    "OrderCancelledByCustomer",
    "OrderInput",
    "OrderResult",
    "OrderSagaWorkflow",
    "Progress",
    "RoomWorkflow",
    "is_business_failure",
]
