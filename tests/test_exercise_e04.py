"""Exercise 04's check (notebooks/checks/e04_retry_policy.py) against the real dev server.

Unsolved, it names the rules broken; solved, it passes; every answer in ``tests/answers/e04``
gets its verdict: the wrong ones NOT YET with their defect named, the right ones PASS (a
budget of exactly 10 s included: the rule's own boundary).
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e04_retry_policy
from saga_lab import connection, server


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
