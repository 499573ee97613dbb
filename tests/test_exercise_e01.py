"""Exercise 01's check (notebooks/checks/e01_hello.py) against the real dev server.

Unsolved, it names what is wrong; solved, it passes; a workflow that reads the clock
the wrong way is told it made a non-deterministic call.
"""

from __future__ import annotations

import importlib

import pytest

from checks import e01_hello
from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS


async def test_the_practice_file_is_told_what_is_wrong(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e01_hello.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: the worker refuses your code: Workflow WeekdayGreetingWorkflow missing attributes, "
        "was it decorated with @workflow.defn?\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e01_hello.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: WeekdayGreetingWorkflow greets by name and weekday")


@pytest.mark.parametrize(
    ("change", "told"),
    [
        (
            ('weekday = workflow.now().strftime("%A")', 'weekday = datetime.now().strftime("%A")'),
            "NOT YET: the workflow made a call the sandbox refuses, because its answer could differ on replay "
            "(a non-deterministic call): Cannot access datetime.datetime.now.__call__ from inside a workflow.\n",
        ),
        (
            (
                "return await workflow.execute_activity(",
                'return f"Hello, {name}! Happy {weekday}."\n        return await workflow.execute_activity(',
            ),
            "NOT YET: run('Ada') returned the right text, but the history holds no completed activity "
            "compose_weekday_greeting: the text must come from the activity\n",
        ),
    ],
    ids=["datetime.now", "no activity"],
)
async def test_a_broken_hello_world_is_told_why(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys, change, told
):
    source = (NOTEBOOKS / "solutions" / "e01_hello.py").read_text(encoding="utf-8")
    source = source.replace("from datetime import timedelta", "from datetime import datetime, timedelta")
    assert change[0] in source
    name = f"e01_broken_{len(change[1])}"
    (tmp_path / f"{name}.py").write_text(source.replace(*change), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    client = await connection.connect(session_server)
    assert await e01_hello.check(client, importlib.import_module(name)) is False
    assert capsys.readouterr().out == told
