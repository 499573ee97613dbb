"""Exercise 07's check (notebooks/checks/e07_idempotent_charge.py) against the real dev server.

Unsolved, it counts two charges for an order retried in the same worker process; solved, it
passes; every answer in ``tests/answers/e07`` gets its verdict, the keys that survive only
inside one process (a cached uuid, Python's ``hash()``) included: the second order's retry
runs in a new worker process.
"""

from __future__ import annotations

import importlib
import re

import pytest
from answers.cases import Answer, cases

from checks import e07_idempotent_charge
from saga_lab import connection, server, verdicts

ORDER = r"ex07-[0-9a-f]{6}"


async def test_the_practice_file_charges_twice(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e07_idempotent_charge.check(client) is False
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"NOT YET: the first attempt's reply was lost and Temporal retried, in the same worker process: {ORDER} "
        r"was charged 2 times \(each attempt reached the payment service as a new request\)\.\n",
        out,
    ), out
    assert verdicts.load()["e07"].passed is False


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e07_idempotent_charge.check(client) is True
    assert capsys.readouterr().out == f"PASS: {e07_idempotent_charge.PASSED}\n"


@pytest.mark.parametrize("answer", cases("e07"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e07_idempotent_charge.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
