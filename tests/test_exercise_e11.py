"""Exercise 11's check (notebooks/checks/e11_planted_bug.py) against the real dev server.

Each case runs 24 sagas in the test's process (about 5 s). Unsolved, the charge is still
idempotent and the checker has nothing to catch; solved, the planted bug is caught; a
charge that never charges, or one that charges the wrong amount, is told what it did.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from checks import e11_planted_bug
from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS

ORDER = r"ex11-[0-9a-f]{6}-\d+"
KEY = "key = input.idempotency_key"


def _variant(tmp_path: Path, monkeypatch, name: str, old: str, new: str):
    """The practice file with ``old`` replaced by ``new``, imported as ``name``."""
    source = (NOTEBOOKS / "exercises" / "e11_planted_bug.py").read_text(encoding="utf-8")
    assert old in source
    (tmp_path / f"{name}.py").write_text(source.replace(old, new), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module(name)


async def test_the_practice_file_is_still_idempotent(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e11_planted_bug.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: every order was charged once, the 12 whose first charge reply was lost included: the activity "
        "you wrote is still idempotent, so there is nothing for the checker to catch yet.\n"
    )


async def test_the_solution_is_caught(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e11_planted_bug.check(client) is True
    assert re.fullmatch(
        rf"PASS: the invariant checker caught your planted bug in 12 of 24 orders \(12 of the 12 whose first "
        rf"charge reply was lost, 0 of the 12 others\), e\.g\. {ORDER} ended (COMPLETED|COMPENSATED): charged 2 "
        r"times; .*\.\n",
        capsys.readouterr().out,
    )


async def test_a_charge_that_never_charges_is_told_so(session_server: server.ServerInfo, tmp_path, monkeypatch, capsys):
    module = _variant(tmp_path, monkeypatch, "e11_never", KEY, 'raise RuntimeError("the card reader is unplugged")')
    client = await connection.connect(session_server)
    assert await e11_planted_bug.check(client, module) is False
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"NOT YET: 24 of 24 orders were never charged, so the checker had nothing to catch: {ORDER} ended "
        r"COMPENSATED: charge: the card reader is unplugged\.\n",
        out,
    ), out


async def test_a_wrong_amount_is_caught_but_is_not_the_bug_asked_for(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys
):
    module = _variant(tmp_path, monkeypatch, "e11_amount", "input.amount, key", "input.amount + 1, key")
    client = await connection.connect(session_server)
    assert await e11_planted_bug.check(client, module) is False
    out = capsys.readouterr().out
    assert re.match(r"NOT YET: the checker found 18 inconsistent order\(s\), but no order was charged twice", out), out
