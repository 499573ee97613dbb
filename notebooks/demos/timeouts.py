"""Notebook 04's demos: one charge with exactly the timeouts and retry policy you give it.

``NaiveOrderWorkflow`` always calls its steps with ``STEP_TIMEOUT`` and ``STEP_RETRY``.
To see each of Temporal's four activity timeouts on its own, :class:`ChargeWorkflow`
calls the payment service's real ``charge`` activity once, with the options in its
input; :class:`PackWorkflow` calls an activity that heartbeats while it packs an order,
item by item, and can jam. :class:`Demo` runs them in the notebook's kernel, on
a task queue of their own. Exercise 04's check uses them too.

Timeouts travel as seconds (``None``: not set) and the retry policy as a :class:`Retry`,
because a workflow's input must be JSON and ``timedelta`` is not.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from saga_lab import connection
    from saga_lab.activities import PaymentActivities
    from saga_lab.connection import workflow_id
    from saga_lab.failures import root_message
    from saga_lab.faults import Fault
    from saga_lab.models import ChargeInput
    from saga_lab.services import open_services

    from .workers import CountingFaults, KernelWorker


@dataclass
class Retry:
    """A ``RetryPolicy`` as plain data (seconds, not ``timedelta``)."""

    initial_interval: float = 1.0
    backoff_coefficient: float = 2.0
    maximum_interval: float | None = None
    maximum_attempts: int = 0
    non_retryable_error_types: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, policy: RetryPolicy) -> Retry:
        return cls(
            policy.initial_interval.total_seconds(),
            policy.backoff_coefficient,
            policy.maximum_interval.total_seconds() if policy.maximum_interval else None,
            policy.maximum_attempts,
            list(policy.non_retryable_error_types or []),
        )

    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            initial_interval=timedelta(seconds=self.initial_interval),
            backoff_coefficient=self.backoff_coefficient,
            maximum_interval=_seconds(self.maximum_interval),
            maximum_attempts=self.maximum_attempts,
            non_retryable_error_types=self.non_retryable_error_types or None,
        )


@dataclass
class ChargeCall:
    """One charge and how to call it; ``task_queue`` None: the workflow's own queue."""

    order_id: str
    amount: int = 4999
    fault: Fault | None = None
    start_to_close: float | None = None
    schedule_to_close: float | None = None
    schedule_to_start: float | None = None
    retry: Retry | None = None
    task_queue: str | None = None


def _seconds(value: float | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


@workflow.defn
class ChargeWorkflow:
    """Charge once, with exactly the timeouts and retry policy of its input; returns the payment id."""

    @workflow.run
    async def run(self, call: ChargeCall) -> str:
        key = f"{workflow.info().workflow_id}:charge"
        return await workflow.execute_activity_method(
            PaymentActivities.charge,
            ChargeInput(call.order_id, call.amount, key, call.fault),
            task_queue=call.task_queue,
            start_to_close_timeout=_seconds(call.start_to_close),
            schedule_to_close_timeout=_seconds(call.schedule_to_close),
            schedule_to_start_timeout=_seconds(call.schedule_to_start),
            retry_policy=call.retry.policy() if call.retry else None,
        )


# ---------------------------------------------------------------- heartbeats


@dataclass
class PackInput:
    order_id: str
    items: int = 5
    #: On the first attempt, the packing machine jams before this item (0: it never jams).
    jam_at: int = 0


#: Packing one item takes this long; a heartbeat follows each item.
ITEM_SECONDS = 0.3
#: A jam lasts this long: longer than the heartbeat timeout, far shorter than start-to-close.
JAM_SECONDS = 6.0


async def pack_items(pack: PackInput) -> str:
    """Pack the order item by item, heartbeating after each; a retry goes on from the last heartbeat."""
    info = activity.info()
    done = start = info.heartbeat_details[0] if info.heartbeat_details else 0
    while done < pack.items:
        if info.attempt == 1 and done + 1 == pack.jam_at:
            await asyncio.sleep(JAM_SECONDS)  # jammed: no progress, no heartbeat
            return f"attempt 1 jammed before item {pack.jam_at}"
        await asyncio.sleep(ITEM_SECONDS)
        done += 1
        activity.heartbeat(done)
    return f"attempt {info.attempt} packed items {start + 1} to {pack.items}"


class Packing:
    """The warehouse's packing activity; ``faults`` counts its attempts in flight, like the services'."""

    def __init__(self, faults: CountingFaults) -> None:
        self.faults = faults

    @activity.defn
    async def pack_order(self, pack: PackInput) -> str:
        self.faults.in_flight += 1
        try:
            return await pack_items(pack)
        finally:
            self.faults.in_flight -= 1


@workflow.defn
class PackWorkflow:
    """Pack an order, with a heartbeat timeout much shorter than its start-to-close timeout."""

    @workflow.run
    async def run(self, pack: PackInput) -> str:
        return await workflow.execute_activity_method(
            Packing.pack_order,
            pack,
            start_to_close_timeout=timedelta(seconds=30),
            heartbeat_timeout=timedelta(seconds=1),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=3),
        )


# ---------------------------------------------------------------- running them


@dataclass
class DemoRun:
    """How one demo workflow ended: ``COMPLETED`` with its result, or ``FAILED`` with the innermost error."""

    workflow_id: str
    status: str
    result: str | None
    error: str | None
    seconds: float

    def __str__(self) -> str:
        outcome = self.result if self.status == "COMPLETED" else self.error
        return f"{self.status} after {self.seconds:.1f} s: {outcome}"


class ProviderCharge:
    """The real ``charge``, answering as many payment providers' APIs do: a decline is an error with a
    type name, and nothing marks it final. Which errors are final is then the caller's retry policy's to
    say, which is what these demos and exercise 04 are about. (The saga's activities mark their refusals
    final themselves: ``saga_lab.activities.refusals_are_final``.)"""

    def __init__(self, payments: PaymentActivities) -> None:
        self.payments = payments

    @activity.defn(name="charge")
    def charge(self, input: ChargeInput) -> str:
        try:
            return self.payments.charge(input)
        except ApplicationError as err:
            raise ApplicationError(err.message, type=err.type) from None  # retryable, unless the policy lists it


def demo_worker(client: Client, task_queue: str) -> KernelWorker:
    """A worker for both demo workflows, the real ``charge`` activity (as a provider answers) and ``pack_order``."""
    faults = CountingFaults()
    charge = ProviderCharge(PaymentActivities(open_services().payment, faults)).charge
    activities = [charge, Packing(faults).pack_order]
    return KernelWorker(client, task_queue, [ChargeWorkflow, PackWorkflow], activities, faults)


class Demo:
    """Runs the demo workflows on a task queue of their own (``demo.task_queue``).

    Each run starts a worker in this kernel for the run and stops it after, so the
    worker's log lines (a failed attempt, a late reply) show in the cell that ran it.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.task_queue = connection.task_queue(client, f"nb04-demo-{uuid.uuid4().hex[:6]}")

    async def charge(self, call: ChargeCall, retry: RetryPolicy | None = None) -> DemoRun:
        """Run ``ChargeWorkflow`` for ``call`` (its workflow id is the order id) to its end, with ``retry`` if given."""
        if retry is not None:
            call = replace(call, retry=Retry.of(retry))
        return await self._run(ChargeWorkflow.run, call, call.order_id)

    async def pack(self, pack: PackInput) -> DemoRun:
        """Run ``PackWorkflow`` for ``pack`` to its end."""
        return await self._run(PackWorkflow.run, pack, pack.order_id)

    async def _run(self, run: Any, arg: Any, order_id: str) -> DemoRun:
        async with demo_worker(self.client, self.task_queue) as worker:
            began = time.monotonic()
            handle = await self.client.start_workflow(
                run, arg, id=workflow_id(self.client, order_id), task_queue=self.task_queue
            )
            try:
                result, status, error = await handle.result(), "COMPLETED", None
            except WorkflowFailureError as failure:
                result, status, error = None, "FAILED", root_message(failure)
            seconds = time.monotonic() - began
            await worker.settled()  # an attempt Temporal gave up on may still run: let it end here
        return DemoRun(handle.id, status, result, error, seconds)

    def __repr__(self) -> str:
        return f"demo workflows on task queue {self.task_queue}: ChargeWorkflow, PackWorkflow"
