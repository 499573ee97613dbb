"""Exercise 03's check (notebooks/checks/e03_forward_steps.py) against the real dev server.

Unsolved, it says no activity ran; solved, it passes; forward steps without a retry
policy are told that a declined card was retried.
"""

from __future__ import annotations

import importlib

from checks import e03_forward_steps
from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e03_forward_steps.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: the plain order's run ended 'COMPLETED' but ran no activity: "
        "the services show payment None, net None, order None, shipment None\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e03_forward_steps.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: each step runs on its service's task queue")


async def test_steps_without_a_retry_policy_are_told_a_declined_card_was_retried(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys
):
    source = (NOTEBOOKS / "solutions" / "e03_forward_steps.py").read_text(encoding="utf-8")
    assert source.count("            retry_policy=STEP_RETRY,\n") == 3
    (tmp_path / "e03_no_retry_policy.py").write_text(
        source.replace("            retry_policy=STEP_RETRY,\n", ""), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    client = await connection.connect(session_server)
    assert await e03_forward_steps.check(client, importlib.import_module("e03_no_retry_policy")) is False
    assert capsys.readouterr().out == (
        "NOT YET: a declined card (PaymentDeclined, a business error) was charged again and again: retrying "
        "cannot change a business answer, so the step's retry policy must not retry it\n"
    )
