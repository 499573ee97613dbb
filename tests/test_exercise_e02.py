"""Exercise 02's check (notebooks/checks/e02_loyalty.py): no server needed.

Unsolved, it says a retry awarded the points twice; solved, it passes; a service that
leaves the points out of the request it remembers is told a reused key got through.
"""

from __future__ import annotations

import importlib

from checks import e02_loyalty

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS


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


def test_a_key_that_forgets_part_of_the_request_is_told(tmp_path, monkeypatch, capsys):
    source = (NOTEBOOKS / "solutions" / "e02_loyalty.py").read_text(encoding="utf-8")
    remembered = 'request = {"customer": customer, "order_id": order_id, "points": points}'
    assert remembered in source
    (tmp_path / "e02_forgetful.py").write_text(
        source.replace(remembered, 'request = {"customer": customer, "order_id": order_id}'), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert e02_loyalty.check(importlib.import_module("e02_forgetful")) is False
    assert capsys.readouterr().out == (
        "NOT YET: the key 'order-1:award', first used for 50 points, was accepted again for 70 points\n"
    )
