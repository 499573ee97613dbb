"""Exercise 05's check (notebooks/checks/e05_plain_saga.py) against the real dev server.

Unsolved, it says what each order left behind; solved, it passes; every answer in
``tests/answers/e05`` gets its verdict: the wrong ones NOT YET with their defect named (read
from the run's history), the right ones PASS.
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e05_plain_saga
from saga_lab import connection, server


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    assert await e05_plain_saga.check(await connection.connect(session_server)) is False
    assert capsys.readouterr().out == (
        "NOT YET: with create_order=permanent the customer is still charged 4999, and nothing was undone; "
        "with create_shipment=permanent the customer is still charged 4999, the order is still ACTIVE, "
        "and nothing was undone.\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert await e05_plain_saga.check(await connection.connect(session_server)) is True
    assert capsys.readouterr().out.startswith("PASS: a failure at any step leaves nothing behind")


@pytest.mark.parametrize("answer", cases("e05"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e05_plain_saga.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
