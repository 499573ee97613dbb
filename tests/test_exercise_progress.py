"""Progress at a glance: each exercise's last verdict is kept, ``saga-lab exercises`` lists them,
``saga-lab exercises check NN`` runs one check from a shell with the notebook cell's output.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

from checks import e02_loyalty
from saga_lab import server, verdicts

try:  # tests/ may or may not become a package
    from .helpers import saga_lab_command
except ImportError:
    from helpers import saga_lab_command


def _saga_lab(*args: str, home: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name != "SAGA_LAB_SOLUTIONS"} | env
    if home is not None:
        environment["SAGA_LAB_HOME"] = str(home)
    return subprocess.run(
        [str(saga_lab_command()), *args], capture_output=True, text=True, timeout=120, env=environment
    )


def test_a_verdict_is_kept_and_the_last_one_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGA_LAB_HOME", str(tmp_path))
    assert verdicts.load() == {}
    verdicts.record("e05", False, "NOT YET: with create_order=permanent ...")
    verdicts.record("e05", True, "PASS: a failure at any step ...")
    verdicts.record("e02", False, "NOT YET: a retry ...")
    kept = verdicts.load()
    assert (kept["e05"].passed, kept["e05"].word, kept["e02"].word) == (True, "PASS", "NOT YET")
    assert sorted(json.loads((tmp_path / "verdicts.json").read_text())) == ["e02", "e05"]


def test_verdicts_kept_at_once_from_many_threads_lose_none(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGA_LAB_HOME", str(tmp_path))
    threads = [threading.Thread(target=verdicts.record, args=(f"e{n:02d}", True, "PASS: ...")) for n in range(13)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(verdicts.load()) == [f"e{n:02d}" for n in range(13)]


def test_a_data_directory_that_cannot_be_written_never_costs_the_check(tmp_path, monkeypatch, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("SAGA_LAB_HOME", str(blocked))
    monkeypatch.setenv("SAGA_LAB_SOLUTIONS", "1")
    assert e02_loyalty.check() is True
    assert capsys.readouterr().out.startswith("PASS: ")
    assert verdicts.load() == {}


def test_the_list_says_not_tried_then_the_shell_check_says_what_the_cell_says(tmp_path, capsys, monkeypatch):
    listed = _saga_lab("exercises", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert rows[0].split() == ["exercise", "notebook", "last", "verdict"]
    assert rows[1].split() == ["e00", "00_setup.ipynb", "not", "tried"]
    notebooks = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(rows) == 1 + len(notebooks) and all(row.endswith("not tried") for row in rows[1:])

    checked = _saga_lab("exercises", "check", "02", home=tmp_path)
    monkeypatch.delenv("SAGA_LAB_SOLUTIONS", raising=False)
    monkeypatch.setenv("SAGA_LAB_HOME", str(tmp_path / "cell"))
    e02_loyalty.check()
    assert (checked.returncode, checked.stdout, checked.stderr) == (1, capsys.readouterr().out, "")
    row = next(r for r in _saga_lab("exercises", home=tmp_path).stdout.splitlines() if r.startswith("e02"))
    assert "NOT YET (" in row and "a retry (the same request" in row

    solved = _saga_lab("exercises", "check", "e02", home=tmp_path, SAGA_LAB_SOLUTIONS="1")
    assert (solved.returncode, solved.stdout.split(":")[0]) == (0, "PASS")
    row = next(r for r in _saga_lab("exercises", home=tmp_path).stdout.splitlines() if r.startswith("e02"))
    assert row.split()[2] == "PASS"


def test_a_check_on_the_server_runs_from_a_shell(session_server: server.ServerInfo):
    solved = _saga_lab("exercises", "check", "5", SAGA_LAB_SOLUTIONS="1")
    assert solved.returncode == 0, solved.stderr
    assert solved.stdout.startswith("PASS: a failure at any step leaves nothing behind") and solved.stderr == ""


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    for args, said in (
        (("exercises", "check", "42"), "saga-lab: there is no exercise '42': use one of 00, 01, 02,"),
        (("exercises", "check", "00"), "saga-lab: exercise 00 is checked in its notebook, from the cell's name,"),
    ):
        done = _saga_lab(*args, home=tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(said) and done.stderr.count("\n") == 1
