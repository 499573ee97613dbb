"""Exercise 10's check (notebooks/checks/e10_three_day_hold.py) on the time-skipping test server.

Unsolved, the practice test asserts nothing: the check must say it also passes on the
broken holds. Solved, it must say PASS. Every answer in ``tests/answers/e10`` gets its
verdict: a test that checks only part of the hold is told which broken hold slipped
through, one that hangs on a broken hold is told it hangs, and a test that fails on the
real workflow is told so, with its line.
"""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from answers.cases import Answer, cases

from checks import e10_three_day_hold as check_module

UNSOLVED = (
    "NOT YET: your test passes on the real workflow, and also on every broken one (skips the hold; holds the order "
    "3 hours instead of 3 days; holds the order 71 hours, an hour short; ships the order first and holds it "
    "afterwards): it asserts nothing about the hold yet\n"
)

#: A learner's test that fails on the real workflow, for the line it is told.
FAILS_ON_THE_REAL_ONE = """
from datetime import timedelta
from saga_lab.checkout import new_order_id, order_result
from saga_lab.config import WORKFLOW_TASK_QUEUE
from saga_lab.workflows import OrderInput, OrderSagaWorkflow

async def test_the_order_ships_after_a_three_day_hold(env):
    order = OrderInput(new_order_id("ex10-hold"), 4999, hold_seconds=timedelta(days=3).total_seconds())
    handle = await env.client.start_workflow(
        OrderSagaWorkflow.run, order, id=order.order_id, task_queue=WORKFLOW_TASK_QUEUE
    )
    result = await order_result(handle)
    assert result.status == "COMPENSATED"
"""


def learner_test(source: str, tmp_path: Path) -> ModuleType:
    """A module holding ``source``, loaded from a file (for line numbers)."""
    path = tmp_path / "learner_e10.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    module = ModuleType("learner_e10")
    module.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    return module


async def test_the_practice_module_is_told_it_asserts_nothing(monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    assert await check_module.check() is False
    assert capsys.readouterr().out == UNSOLVED


async def test_the_solution_passes(monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert await check_module.check() is True
    out = capsys.readouterr().out
    assert out.startswith("PASS: your test passes on the real OrderSagaWorkflow (") and "4 broken holds" in out


async def test_a_test_that_fails_on_the_real_workflow_is_told_its_line(tmp_path, capsys):
    assert await check_module.check(learner_test(FAILS_ON_THE_REAL_ONE, tmp_path)) is False
    assert capsys.readouterr().out == (
        "NOT YET: your test fails on the real OrderSagaWorkflow, whose hold works: "
        'AssertionError (line 13: assert result.status == "COMPENSATED")\n'
    )


@pytest.mark.parametrize("answer", cases("e10"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, capsys):
    await check_module.check(importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
