"""Exercise 06's check (notebooks/checks/e06_unknown_outcome.py) against the real dev server.

Unsolved, it says what each order left behind; solved, it passes; every answer in
``tests/answers/e06`` gets its verdict: the wrong ones NOT YET with their defect named (read
from the run's history), the right ones PASS.
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e06_unknown_outcome
from saga_lab import connection, server


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    assert await e06_unknown_outcome.check(await connection.connect(session_server)) is False
    assert capsys.readouterr().out == (
        "NOT YET: with charge=timeout:3 the customer is still charged 4999, and nothing was undone; "
        "with create_order=timeout:3 the order is still ACTIVE (undone: refund); "
        "with create_shipment=timeout:3 a shipment is still booked (undone: cancel_order, refund); "
        "with create_order's reply lost as an error on all 3 attempts the order is still ACTIVE (undone: refund).\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert await e06_unknown_outcome.check(await connection.connect(session_server)) is True
    assert capsys.readouterr().out.startswith("PASS: a step that may have done its work")


@pytest.mark.parametrize("answer", cases("e06"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e06_unknown_outcome.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
