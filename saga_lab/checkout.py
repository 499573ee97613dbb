"""Placing an order and looking at it: the client side that notebooks and the CLI share.

The workflow id is the order id, and a second start with the same id is refused by
Temporal (``REJECT_DUPLICATE``): placing the same order twice attaches to the first
run and returns its result, so the customer is never charged twice.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    TerminatedError,
    TimeoutError,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError

from .config import MAX_AMOUNT_CENTS, WORKFLOW_TASK_QUEUE
from .faults import FaultPlan
from .services import open_services
from .services.store import validate_amount, validate_order_id
from .workflows import (
    COMPENSATED,
    FAILED,
    NaiveOrderWorkflow,
    OrderInput,
    OrderResult,
    OrderSagaWorkflow,
    Progress,
    initial_search_attributes,
)


def validate_order(order_id: str, amount: int) -> None:
    """Raise the services' own validation error before anything is started."""
    validate_order_id(order_id)
    validate_amount(amount, MAX_AMOUNT_CENTS)


async def start_order(
    client: Client,
    order_id: str,
    amount: int,
    faults: FaultPlan | None = None,
    *,
    naive: bool = False,
    hold_seconds: float = 0.0,
    parallel_compensation: bool = False,
    deadline_seconds: float = 0.0,
) -> WorkflowHandle:
    """Start the saga for one order, or attach to the run that already has this order id."""
    validate_order(order_id, amount)
    order = OrderInput(order_id, amount, faults or FaultPlan(), hold_seconds, parallel_compensation, deadline_seconds)
    workflow = NaiveOrderWorkflow.run if naive else OrderSagaWorkflow.run
    try:
        return await client.start_workflow(
            workflow,
            order,
            id=order_id,
            task_queue=WORKFLOW_TASK_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            search_attributes=initial_search_attributes(),
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle(order_id, result_type=OrderResult)


async def order_result(handle: WorkflowHandle) -> OrderResult:
    """Wait for the run's end and say it as an :class:`OrderResult`, whatever way it ended."""
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
            return OrderResult(**cause.details[0])
        if isinstance(cause, CancelledError):
            progress = await handle.query(OrderSagaWorkflow.progress)
            return OrderResult(
                handle.id,
                COMPENSATED,
                compensations=progress.compensations_done,
                error="the workflow was cancelled; its compensations ran",
                failed_step=progress.current_step,
            )
        if isinstance(cause, (TerminatedError, TimeoutError)):
            how = "terminated" if isinstance(cause, TerminatedError) else "timed out"
            return OrderResult(handle.id, FAILED, error=f"the workflow was {how}: no compensation ran")
        return OrderResult(handle.id, FAILED, error=str(cause or failure))
    # A handle made without the workflow's type (get_workflow_handle(id)) returns a plain dict.
    return OrderResult(**result) if isinstance(result, dict) else result


async def place_order(
    client: Client, order_id: str, amount: int, faults: FaultPlan | None = None, **options
) -> OrderResult:
    """Place one order and wait for its saga to end."""
    return await order_result(await start_order(client, order_id, amount, faults, **options))


async def progress(client: Client, order_id: str) -> Progress:
    return await client.get_workflow_handle(order_id).query(OrderSagaWorkflow.progress)


async def workflow_status(client: Client | None, order_id: str) -> str | None:
    """The Temporal status of the order's workflow (``COMPLETED``, ``FAILED``, …), None if none."""
    if client is None:
        return None
    try:
        description = await client.get_workflow_handle(order_id).describe()
    except RPCError:
        return None
    return description.status.name if description.status else None


async def show_order(client: Client | None, order_id: str, home: Path | None = None) -> dict:
    """The order across Temporal and the three services' databases."""
    services = open_services(home)
    return {
        "order_id": order_id,
        "workflow": {"status": await workflow_status(client, order_id)},
        "payment": services.payment.state(order_id),
        "order": services.orders.state(order_id),
        "shipping": services.shipping.state(order_id),
    }
