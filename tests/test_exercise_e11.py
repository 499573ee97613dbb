"""Exercise 11's check (notebooks/checks/e11_planted_bug.py) against the real dev server.

Each case runs 24 sagas, the payment worker in a process that is killed and replaced (about
8 s). Unsolved, the charge is still idempotent and the checker has nothing to catch; solved,
the planted bug is caught; every answer in ``tests/answers/e11`` gets its verdict: a bug that
charges twice without any retry, or a charge past the fault injector, is told what it did.
"""

from __future__ import annotations

import importlib
import re

import pytest
from answers.cases import Answer, cases

from checks import e11_planted_bug
from saga_lab import connection, server

ORDER = r"ex11-[0-9a-f]{6}-\d+"


async def test_the_practice_file_is_still_idempotent(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e11_planted_bug.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: every order was charged once, the 12 whose first charge reply was lost and was retried included "
        "(some by a new worker process): the activity you wrote is still idempotent, so there is nothing for the "
        "checker to catch yet.\n"
    )


async def test_the_solution_is_caught(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e11_planted_bug.check(client) is True
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"PASS: the invariant checker caught your planted bug in 1[2-9] of 24 orders, each one charged again by a "
        rf"retry \(.*\), e\.g\. {ORDER} ended (COMPLETED|COMPENSATED): charged 2 times; .*\.\n",
        out,
    ), out


@pytest.mark.parametrize("answer", cases("e11"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e11_planted_bug.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
