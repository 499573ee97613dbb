"""Exercise 03's check (notebooks/checks/e03_forward_steps.py) against the real dev server.

Unsolved, it says no activity ran; solved, it passes; every answer in ``tests/answers/e03``
gets its verdict: the wrong ones NOT YET with their defect named, the right ones PASS.
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e03_forward_steps
from saga_lab import connection, server


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e03_forward_steps.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: the plain order's run ran no activity; the happy path is charge, create_order, create_shipment, "
        "in this order\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e03_forward_steps.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: each step runs on its service's task queue")


@pytest.mark.parametrize("answer", cases("e03"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e03_forward_steps.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
