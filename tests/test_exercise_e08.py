"""Exercise 08's check (notebooks/checks/e08_survive_a_kill.py) against the real dev server.

Each case runs worker processes and kills one (about 10 s). Unsolved, the check says no
heartbeat reached the server; solved, it passes; an activity that heartbeats but starts
over, or resumes without its running total, is told what went wrong.
"""

from __future__ import annotations

import importlib
import os
import re

import pytest

from checks import e08_survive_a_kill
from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS

RESUME = "done, grams = (details[0], details[1]) if details else (0, 0)"
HEARTBEAT = "activity.heartbeat(done, grams)"


async def test_the_practice_file_never_heartbeats(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e08_survive_a_kill.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: no heartbeat reached the server, so every attempt was taken for dead 2 s after it started "
        "(its heartbeat timeout), even while its worker was alive, and the batch failed: activity Heartbeat timeout\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e08_survive_a_kill.check(client) is True
    out = capsys.readouterr().out
    assert re.fullmatch(
        r"PASS: the worker was killed after parcel \d+; the new attempt went on at parcel \d+, from the last "
        r"heartbeat's details, and the batch weighed 1385 g, every parcel counted once\.\n",
        out,
    ), out


@pytest.mark.parametrize(
    ("change", "told"),
    [
        (
            (RESUME, "done, grams = 0, 0"),
            r"NOT YET: the new attempt weighed parcels 1 to \d+ again, though the first had weighed them before "
            r"its worker was killed \(the last heartbeat's details were \[\d+, \d+\]\)\n",
        ),
        (
            (HEARTBEAT, "activity.heartbeat(done)"),
            r"NOT YET: no parcel was weighed twice, but the batch returned \d+ g and the 10 parcels weigh 1385 g: "
            r"the new attempt did not know what the parcels before it weighed\n",
        ),
    ],
    ids=["starts over", "no total"],
)
async def test_a_half_done_activity_is_told_what_went_wrong(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys, change, told
):
    source = (NOTEBOOKS / "solutions" / "e08_survive_a_kill.py").read_text(encoding="utf-8")
    assert change[0] in source
    source = source.replace(*change)
    if change[0] == HEARTBEAT:  # a single detail comes back as a one-item list
        source = source.replace(RESUME, "done, grams = (details[0], 0) if details else (0, 0)")
    name = f"e08_broken_{len(change[1])}"
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    client = await connection.connect(session_server)
    assert await e08_survive_a_kill.check(client, importlib.import_module(name)) is False
    out = capsys.readouterr().out
    assert re.fullmatch(told, out), out
