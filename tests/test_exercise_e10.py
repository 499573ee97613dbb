"""Exercise 10's check (notebooks/checks/e10_three_day_hold.py) on the time-skipping test server.

Unsolved, the practice test asserts nothing: the check must say it also passes on the
broken holds. Solved, it must say PASS. A test that checks only part of the hold must be
told which broken hold slipped through, and a test that fails on the real workflow must
be told so, with its line.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from checks import e10_three_day_hold as check_module

UNSOLVED = (
    "NOT YET: your test passes on the real workflow, and also on every broken one (no hold; 3 hours instead of "
    "3 days; shipped before the hold): it asserts nothing about the hold yet\n"
)

#: The start of a learner's test; each case below adds its assertions.
START = """
from datetime import timedelta
from saga_lab import history
from saga_lab.checkout import new_order_id, order_result
from saga_lab.config import WORKFLOW_TASK_QUEUE
from saga_lab.workflows import OrderInput, OrderSagaWorkflow

async def test_the_order_ships_after_a_three_day_hold(env):
    order = OrderInput(new_order_id("ex10-hold"), 4999, hold_seconds=timedelta(days=3).total_seconds())
    handle = await env.client.start_workflow(
        OrderSagaWorkflow.run, order, id=order.order_id, task_queue=WORKFLOW_TASK_QUEUE
    )
    result = await order_result(handle)
"""


def learner_test(assertions: str, tmp_path: Path) -> ModuleType:
    """A module holding the start above and ``assertions``, loaded from a file (for line numbers)."""
    source = START + textwrap.indent(textwrap.dedent(assertions), "    ")
    path = tmp_path / "learner_e10.py"
    path.write_text(source, encoding="utf-8")
    module = ModuleType("learner_e10")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


async def test_the_practice_module_is_told_it_asserts_nothing(monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    assert await check_module.check() is False
    assert capsys.readouterr().out == UNSOLVED


async def test_the_solution_passes(monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert await check_module.check() is True
    out = capsys.readouterr().out
    assert out.startswith("PASS: your test passes on the real OrderSagaWorkflow (") and "3 broken holds" in out


@pytest.mark.parametrize(
    ("assertions", "told"),
    [
        (
            """
            described = await handle.describe()
            assert described.close_time - described.start_time >= timedelta(days=3)
            """,
            "NOT YET: your test also passes on a workflow that ships the order first and holds it afterwards: "
            "it does not say the shipment waited for the hold\n",
        ),
        (
            """
            assert "TimerFired" in [e.kind for e in history.events(await handle.fetch_history())]
            """,
            "NOT YET: your test also passes on a workflow that holds the order 3 hours instead of 3 days "
            "(and on 1 more broken one): it does not tell a 3-hour hold from 3 days\n",
        ),
        (
            """
            assert result.status == "COMPENSATED"
            """,
            "NOT YET: your test fails on the real OrderSagaWorkflow, whose hold works: "
            'AssertionError (line 15: assert result.status == "COMPENSATED")\n',
        ),
    ],
    ids=["run-length-only", "timer-fired-only", "fails-on-the-real-one"],
)
async def test_a_partial_test_is_told_what_it_misses(assertions, told, tmp_path, capsys):
    assert await check_module.check(learner_test(assertions, tmp_path)) is False
    assert capsys.readouterr().out == told
