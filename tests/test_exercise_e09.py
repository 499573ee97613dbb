"""Exercise 09's check (notebooks/checks/e09_picking_query.py) against the real dev server.

Unsolved, it says the workflow has no such query; solved, it passes; a query that counts
wrong is told which answer was wrong.
"""

from __future__ import annotations

import importlib

from checks import e09_picking_query
from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS


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


async def test_a_query_that_counts_wrong_is_told_which_answer(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys
):
    source = (NOTEBOOKS / "solutions" / "e09_picking_query.py").read_text(encoding="utf-8")
    right = "remaining=len(self.items) - len(self.picked)"
    assert right in source
    (tmp_path / "e09_wrong_count.py").write_text(source.replace(right, "remaining=len(self.items)"), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    client = await connection.connect(session_server)
    assert await e09_picking_query.check(client, importlib.import_module("e09_wrong_count")) is False
    assert capsys.readouterr().out == "NOT YET: the query said 1 picked and 4 remaining, of 4 items\n"
