"""Exercise 04's check (notebooks/checks/e04_retry_policy.py) against the real dev server.

Unsolved, it names the rules broken; solved, it passes; every answer in ``tests/answers/e04``
gets its verdict: the wrong ones NOT YET with their defect named, the right ones PASS (a
budget of exactly 10 s included: the rule's own boundary).
"""

from __future__ import annotations

import asyncio
import importlib
import time
import uuid

import pytest
from answers.cases import Answer, cases
from temporalio import activity
from temporalio.worker import Worker

from checks import e04_retry_policy, support
from demos.timeouts import ChargeCall, ChargeWorkflow, ProviderCharge
from saga_lab import connection, server
from saga_lab.activities import PaymentActivities
from saga_lab.faults import Fault, FaultInjector
from saga_lab.history import RunFacts
from saga_lab.models import ChargeInput
from saga_lab.worker import activity_executor


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    assert await e04_retry_policy.check(await connection.connect(session_server)) is False
    assert capsys.readouterr().out.startswith(
        "NOT YET: with charge=transient:3 the charge never succeeded: 2 attempts were made"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert await e04_retry_policy.check(await connection.connect(session_server)) is True
    assert capsys.readouterr().out.startswith("PASS: the charge survives")


@pytest.mark.parametrize("answer", cases("e04"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e04_retry_policy.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []


class _StalledFirstAttempt:
    """The real ``charge``, except that its first attempt stalls past its 2 s start-to-close before it
    reaches the payment service, as a busy machine can make it; the next attempt is declined, once."""

    def __init__(self, payments: PaymentActivities) -> None:
        self.payments = payments

    @activity.defn(name="charge")
    def charge(self, input: ChargeInput) -> str:
        if activity.info().attempt == 1:
            time.sleep(2.5)
        return self.payments.charge(input)


async def _declined_run(client, charge, order_id: str, **call) -> RunFacts:
    queue = f"e04-declined-{uuid.uuid4().hex[:6]}"
    async with Worker(
        client, task_queue=queue, workflows=[ChargeWorkflow], activities=[charge], activity_executor=activity_executor()
    ):
        handle = await client.start_workflow(
            ChargeWorkflow.run,
            ChargeCall(order_id, 4999, Fault.parse("permanent"), start_to_close=2.0, **call),
            id=order_id,
            task_queue=queue,
        )
        return await support.finish(handle, 20)


async def test_a_decline_is_judged_retried_only_when_an_attempt_followed_a_decline(session_server):
    """A right policy on a busy machine: attempt 1 times out before it reaches the service, attempt 2
    is declined. Two attempts, and no decline was retried: no NOT YET for it. The other way, a
    provider's decline (not marked final) under the default policy is retried: NOT YET, naming it."""
    client = await connection.connect(session_server)
    run = uuid.uuid4().hex[:6]
    with support.private_services() as (_, stores):
        payments = PaymentActivities(stores.payment, FaultInjector())
        stalled, provider = await asyncio.gather(
            _declined_run(client, _StalledFirstAttempt(payments).charge, f"e04-stalled-{run}"),
            _declined_run(client, ProviderCharge(payments).charge, f"e04-provider-{run}", schedule_to_close=3.0),
        )

    def said_of_the_decline(facts: RunFacts) -> list[str]:
        found = e04_retry_policy.problems({"survives": facts, "declined": facts, "down": facts}, stores, {})
        return [phrase for phrase in found if phrase.startswith("with charge=permanent")]

    charge = stalled.activities[0]
    assert (stalled.status, charge.attempts, charge.retried_after_type) == ("FAILED", 2, "StartToCloseTimeout")
    assert said_of_the_decline(stalled) == []
    charge = provider.activities[0]
    assert charge.attempts >= 2 and charge.retried_after_type == "PaymentDeclined", charge
    assert said_of_the_decline(provider) == [
        f"with charge=permanent the declined card was tried {charge.attempts} times: "
        "a decline does not change on a retry"
    ]
