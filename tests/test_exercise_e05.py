"""Exercise 05's check (the saga built by hand, a fault at each step) against the real dev server.

Unsolved (``notebooks/exercises/``) it must say NOT YET and what is wrong; solved
(``SAGA_LAB_SOLUTIONS=1``: ``notebooks/solutions/``) it must say PASS.
"""

from __future__ import annotations

import pytest

from checks import e05_plain_saga as exercise
from saga_lab import connection, server

UNSOLVED = (
    "NOT YET: with create_order=permanent the customer is still charged 4999, and nothing was undone; "
    "with create_shipment=permanent the customer is still charged 4999, the order is still ACTIVE, "
    "and nothing was undone."
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
