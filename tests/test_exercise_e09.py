"""Exercise 09's check (notebooks/checks/e09_picking_query.py) against the real dev server.

Unsolved, it says the workflow has no such query; solved, it passes; every answer in
``tests/answers/e09`` gets its verdict: each answer of the query is held against the run's
history, so a query that counts an item before it is picked, or lags behind, is told so.
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e09_picking_query
from saga_lab import connection, server


async def test_the_practice_file_has_no_query(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e09_picking_query.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: PickingWorkflow has no query named 'progress': Query handler for 'progress' expected but not "
        "found, known queries: [__enhanced_stack_trace __stack_trace __temporal_workflow_metadata]\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e09_picking_query.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: asked while the workflow ran, progress answered {'picked': [")


@pytest.mark.parametrize("answer", cases("e09"), ids=lambda a: a.name)
async def test_each_answer_gets_its_verdict(answer: Answer, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    await e09_picking_query.check(client, importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
