"""Placing an order and looking at it: the client side that notebooks, the CLI and the chaos runner share.

An order's saga runs as the workflow whose id is the order id (behind the learner's
prefix on a shared server, see :func:`saga_lab.connection.workflow_id`). It is started
with the id-reuse policy ``REJECT_DUPLICATE``, this lab's choice (Temporal's default,
``ALLOW_DUPLICATE``, starts a new run once the first has closed): an order id is
placed once, so placing it again (a shop's retry, a double click) attaches to the
first run and returns its result, for as long as the namespace keeps that run
(its retention period). Placing it again with another amount is refused.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ApplicationError,
    CancelledError,
    TerminatedError,
    TimeoutError,
    WorkflowAlreadyStartedError,
)
from temporalio.service import RPCError, RPCStatusCode

from .config import MAX_AMOUNT_CENTS
from .connection import refused_for_search_attributes, search_attributes_ready, task_queue, workflow_id
from .faults import FaultPlan
from .models import FAILED, ORDER_STATUS, RUNNING, OrderInput, OrderResult, Progress
from .services import IdempotencyConflict, open_services
from .services.store import validate_amount, validate_order_id
from .workflows import NaiveOrderWorkflow, OrderSagaWorkflow


def validate_order(order_id: str, amount: int) -> None:
    """Raise the services' own validation error before anything is started."""
    validate_order_id(order_id)
    validate_amount(amount, MAX_AMOUNT_CENTS)


def new_order_id(base: str) -> str:
    """A fresh order id for one experiment, e.g. ``nb04-charge-3f2a9c``: rerunning a cell starts new work."""
    return f"{base}-{uuid.uuid4().hex[:6]}"


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
    publish = search_attributes_ready(client)
    order = OrderInput(
        order_id, amount, faults or FaultPlan(), hold_seconds, parallel_compensation, deadline_seconds, publish
    )
    workflow = NaiveOrderWorkflow.run if naive else OrderSagaWorkflow.run
    try:
        return await client.start_workflow(
            workflow,
            order,
            id=workflow_id(client, order_id),
            task_queue=task_queue(client, "workflow"),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes([SearchAttributePair(ORDER_STATUS, RUNNING)]) if publish else None,
            memo={"amount": amount},
        )
    except WorkflowAlreadyStartedError:
        handle = order_handle(client, order_id)
        placed = await (await handle.describe()).memo_value("amount", None)
        if placed is not None and placed != amount:
            raise IdempotencyConflict(
                f"order {order_id!r} was already placed with amount {placed}, not {amount}; "
                "use a new order id for a different order"
            ) from None
        return handle
    except RPCError as err:
        if not (publish and refused_for_search_attributes(client, err)):
            raise
        # Its search attributes changed on the server since connect: the same start, without them.
        return await start_order(
            client, order_id, amount, faults, naive=naive, hold_seconds=hold_seconds,
            parallel_compensation=parallel_compensation, deadline_seconds=deadline_seconds,
        )  # fmt: skip


async def order_result(handle: WorkflowHandle) -> OrderResult:
    """Wait for the run's end and say it as an :class:`OrderResult`, whatever way it ended.

    The saga's own record says how it ended: its result (COMPLETED, or COMPENSATED), the
    details of its failure (FAILED: a person must act), or, for a run that ends CANCELED
    and carries no result, its ``progress`` query. A terminated or timed-out run ran no
    more code: nothing says what it left, and a person must look.
    """
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        cause = failure.cause
        if isinstance(cause, ApplicationError) and cause.details and isinstance(cause.details[0], dict):
            return OrderResult(**cause.details[0])
        if isinstance(cause, CancelledError):
            outcome = (await handle.query(OrderSagaWorkflow.progress)).outcome
            if outcome is not None:
                return outcome
            return OrderResult(handle.id, FAILED, error="the workflow was cancelled before its saga recorded an end")
        if isinstance(cause, TerminatedError | TimeoutError):
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


def order_handle(client: Client, order_id: str) -> WorkflowHandle:
    """The handle of an order's saga (its workflow id carries the learner prefix on a shared server)."""
    return client.get_workflow_handle(workflow_id(client, order_id), result_type=OrderResult)


async def progress(client: Client, order_id: str) -> Progress:
    """Where the order's saga is now: its ``progress`` query."""
    return await order_handle(client, order_id).query(OrderSagaWorkflow.progress)


async def wait_for_step(client: Client, order_id: str, step: str, timeout_s: float = 30.0) -> bool:
    """Ask the saga's progress until it is at ``step`` (True), or its run has ended (False)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while await workflow_status(client, order_id) == "RUNNING":
        if (await progress(client, order_id)).current_step == step:
            return True
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"order {order_id} did not reach {step} within {timeout_s:g} s")
        await asyncio.sleep(0.1)
    return False


async def workflow_status(client: Client | None, order_id: str) -> str | None:
    """The Temporal status of the order's workflow (``COMPLETED``, ``FAILED``, …), None if none."""
    if client is None:
        return None
    try:
        description = await order_handle(client, order_id).describe()
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


async def end_state(client: Client | None, order_id: str, home: Path | None = None) -> dict:
    """The order in Temporal and in the three databases as one row, and whether they agree.

    Consistent means all or nothing: charged, order active and shipped, or none of the three.
    """
    found = await show_order(client, order_id, home)
    paid = (found["payment"]["net"] or 0) > 0
    ordered = found["order"]["status"] == "ACTIVE"
    shipped = found["shipping"]["status"] == "CREATED"
    return {
        "workflow": found["workflow"]["status"],
        "payment": found["payment"]["status"],
        "net": found["payment"]["net"],
        "order": found["order"]["status"],
        "shipment": found["shipping"]["status"],
        "consistent": "yes" if paid == ordered == shipped else "NO",
    }


async def terminate_if_running(handle: WorkflowHandle, reason: str) -> bool:
    """Terminate the run; False when it had already ended on its own (every deadline races the run it stops)."""
    try:
        await handle.terminate(reason=reason)  # a positional argument would be stored as details
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # "workflow execution already completed"
            return False
        raise
    return True


async def ended_within(handle: WorkflowHandle, seconds: float, reason: str) -> bool:
    """Wait up to ``seconds`` for the run to end (completed, failed, …: read its result to know how).

    A run still going then is terminated with ``reason`` and False is returned; one that ends while
    it is being terminated has ended (True).
    """
    try:
        await asyncio.wait_for(handle.result(), seconds)
    except builtins.TimeoutError:
        return not await terminate_if_running(handle, reason)
    except Exception:  # it ended, and not well: the caller reads how
        pass
    return True
