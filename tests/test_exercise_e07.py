"""Exercise 07's check (notebooks/checks/e07_idempotent_charge.py) against the real dev server.

Unsolved, it counts two charges per order; solved, it passes; a key that is stable but the
same for every order is told the second order could not be charged.
"""

from __future__ import annotations

import importlib
import re

from checks import e07_idempotent_charge
from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import NOTEBOOKS
except ImportError:
    from helpers import NOTEBOOKS

ORDER = r"ex07-[0-9a-f]{6}"


async def test_the_practice_file_charges_twice(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e07_idempotent_charge.check(client) is False
    assert re.fullmatch(
        rf"NOT YET: the first attempt's reply was lost and Temporal retried: {ORDER} was charged 2 times, "
        rf"{ORDER} was charged 2 times \(the retry reached the payment service as a new request\)\.\n",
        capsys.readouterr().out,
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e07_idempotent_charge.check(client) is True
    assert capsys.readouterr().out.startswith("PASS: the first attempt's reply was lost and Temporal retried, yet")


async def test_one_key_for_every_order_is_told_the_second_order_failed(
    session_server: server.ServerInfo, tmp_path, monkeypatch, capsys
):
    source = (NOTEBOOKS / "solutions" / "e07_idempotent_charge.py").read_text(encoding="utf-8")
    stable = 'key = f"{activity.info().workflow_id}:charge"'
    assert stable in source
    (tmp_path / "e07_one_key.py").write_text(
        source.replace(stable, f'key = "{tmp_path.name}:charge"'), encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    client = await connection.connect(session_server)
    assert await e07_idempotent_charge.check(client, importlib.import_module("e07_one_key")) is False
    out = capsys.readouterr().out
    assert re.match(rf"NOT YET: the charge of {ORDER} failed: idempotency key '.*:charge' was already used", out), out
