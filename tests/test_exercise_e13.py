"""Exercise 13's check (notebooks/checks/e13_payload_codec.py) against the real dev server.

Unsolved, it says the card number can be read; solved, it passes. Each file in
``tests/answers/e13/`` is an answer a learner plausibly writes: its first line says what is
wrong (or that it is right, in another style than the solution) and which words the check's
NOT YET must say. The wrong ones must get NOT YET naming their defect, the right ones PASS.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from checks import e13_payload_codec
from saga_lab import connection, server

ANSWERS = Path(__file__).resolve().parent / "answers" / "e13"
#: answer file -> the words its verdict must contain (a NOT YET naming the defect, or PASS)
EXPECTED = {
    "wrong_base64": "NOT YET: the card number can be read in what encode made, after base64-decoding it",
    "wrong_fixed_nonce": "NOT YET: the same payload encoded twice gives the same bytes",
    "wrong_ignores_key": "NOT YET: a codec built with another key read the card number back",
    "wrong_decrypts_everything": "on a payload it did not encode",
    "wrong_memory_table": "NOT YET: another CardCodec built with the same key could not read it back",
    "right_fernet": "PASS: the card payment ran with your codec",
    "right_chacha": "PASS: the card payment ran with your codec",
}


def _answer(name: str):
    spec = importlib.util.spec_from_file_location(f"e13_answer_{name}", ANSWERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_answer_file_is_listed():
    assert sorted(path.stem for path in ANSWERS.glob("*.py")) == sorted(EXPECTED)


async def test_the_practice_file_lets_the_card_number_through(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    client = await connection.connect(session_server)
    assert await e13_payload_codec.check(client) is False
    assert capsys.readouterr().out == (
        "NOT YET: the card number can be read in what encode made, as it is: anyone who reads the history reads it\n"
    )


async def test_the_solution_passes(session_server: server.ServerInfo, monkeypatch, capsys):
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    client = await connection.connect(session_server)
    assert await e13_payload_codec.check(client) is True
    out = capsys.readouterr().out
    assert out.startswith("PASS: the card payment ran with your codec, and the server holds only ciphertext"), out


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_answer_gets_its_verdict(name: str, session_server: server.ServerInfo, capsys):
    client = await connection.connect(session_server)
    passed = await e13_payload_codec.check(client, _answer(name))
    out = capsys.readouterr().out
    assert passed is name.startswith("right_"), out
    assert EXPECTED[name] in out, out
    assert out.count("\n") == 1, out  # one verdict line, no traceback


def test_each_answer_file_says_what_it_is():
    for path in ANSWERS.glob("*.py"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# "), f"{path.name}: its first line must say what is wrong (or right) with it"
        if path.stem.startswith("wrong_"):
            assert "NOT YET must say" in first, f"{path.name}: {first}"
