"""Exercise 02's check (notebooks/checks/e02_loyalty.py): no server needed.

Unsolved, it says a retry awarded the points twice; solved, it passes; every answer in
``tests/answers/e02`` gets its verdict: the wrong ones NOT YET with their defect named,
the right ones PASS.
"""

from __future__ import annotations

import importlib

import pytest
from answers.cases import Answer, cases

from checks import e02_loyalty


def test_the_practice_file_is_told_what_is_wrong(monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    assert e02_loyalty.check() is False
    assert capsys.readouterr().out == (
        "NOT YET: a retry (the same request with the same idempotency key, as after a lost reply) awarded the "
        "points again: the balance is 100 after two calls, not 50\n"
    )


def test_the_solution_passes(monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert e02_loyalty.check() is True
    assert capsys.readouterr().out.startswith("PASS: retries and racing copies award the points once")


@pytest.mark.parametrize("answer", cases("e02"), ids=lambda a: a.name)
def test_each_answer_gets_its_verdict(answer: Answer, capsys):
    e02_loyalty.check(importlib.import_module(answer.module))
    assert answer.judge(capsys.readouterr().out) == []
