"""Exercise 01's check (notebooks/checks/e01_hello.py) against the real dev server and a time-skipping one.

Unsolved, it names what is wrong; solved, it passes; every answer in ``tests/answers/e01``
gets its verdict: the wrong ones NOT YET with their defect named, the right ones PASS.
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e01_hello
from saga_lab import connection, server, verdicts


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e01_hello.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: the worker refuses your code: Workflow WeekdayGreetingWorkflow missing attributes, "
        "was it decorated with @workflow.defn?\n"
    )
    assert verdicts.load()["e01"].passed is False


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e01_hello.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: WeekdayGreetingWorkflow greets by name")
    assert verdicts.load()["e01"].passed is True


@pytest.mark.parametrize("answer", cases("e01"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e01_hello.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
