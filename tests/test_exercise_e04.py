"""Exercise 04's check (the learner's retry policy on the real charge activity) against the real dev server.

Unsolved (``notebooks/exercises/``) it must say NOT YET and what is wrong; solved
(``SAGA_LAB_SOLUTIONS=1``: ``notebooks/solutions/``) it must say PASS.
"""

from __future__ import annotations

import pytest

from checks import e04_retry_policy as exercise
from saga_lab import connection, server

UNSOLVED = (
    "NOT YET: with charge=transient:3 the charge never succeeded: 2 attempts were made and the step gave up; "
    "with charge=permanent the declined card was tried 2 times: a decline does not change on a retry."
)


async def test_the_unsolved_exercise_is_told_what_is_wrong(
    session_server: server.ServerInfo, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await exercise.check(client) is False
    assert capsys.readouterr().out.strip() == UNSOLVED


async def test_the_solution_passes(
    session_server: server.ServerInfo, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await exercise.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: ")
