"""Exercises 04, 05 and 06: each check against the real dev server, on the practice file and on the solution.

Unsolved (``notebooks/exercises/``) a check must say NOT YET and what is wrong, word for word;
solved (``SAGA_LAB_SOLUTIONS=1``: ``notebooks/solutions/``) it must say PASS.

* 04: the learner's retry policy, on the real charge activity;
* 05: the saga built by hand, a fault at each step;
* 06: the undo of a step whose outcome is unknown, a timeout at each step.
"""

from __future__ import annotations

import importlib

import pytest

from saga_lab import connection, server

UNSOLVED = {
    "e04_retry_policy": (
        "NOT YET: with charge=transient:3 the charge never succeeded: 2 attempts were made and the step gave up; "
        "with charge=permanent the declined card was tried 2 times: a decline does not change on a retry."
    ),
    "e05_plain_saga": (
        "NOT YET: with create_order=permanent the customer is still charged 4999, and nothing was undone; "
        "with create_shipment=permanent the customer is still charged 4999, the order is still ACTIVE, "
        "and nothing was undone."
    ),
    "e06_unknown_outcome": (
        "NOT YET: with charge=timeout:3 the customer is still charged 4999, and nothing was undone; "
        "with create_order=timeout:3 the order is still ACTIVE (undone: refund); "
        "with create_shipment=timeout:3 a shipment is still booked (undone: cancel_order, refund)."
    ),
}


@pytest.mark.parametrize("name", UNSOLVED)
async def test_the_unsolved_exercise_is_told_what_is_wrong(
    name: str, session_server: server.ServerInfo, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    check = importlib.import_module(f"checks.{name}").check
    assert await check(await connection.connect(session_server)) is False
    assert capsys.readouterr().out.strip() == UNSOLVED[name]


@pytest.mark.parametrize("name", UNSOLVED)
async def test_the_solution_passes(
    name: str, session_server: server.ServerInfo, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    check = importlib.import_module(f"checks.{name}").check
    assert await check(await connection.connect(session_server)) is True
    assert capsys.readouterr().out.startswith("PASS: ")
