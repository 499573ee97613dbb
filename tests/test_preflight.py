"""The preflight ``make test`` runs first: with Java or Chromium hidden from PATH it names what is missing, one line
each with how to install it on Debian/Ubuntu, macOS and conda, and exits 1; with both present it says where they are."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PREFLIGHT = Path(__file__).resolve().parent / "preflight.py"


def _preflight(tmp_path: Path, *programs: str) -> subprocess.CompletedProcess:
    """Run the preflight with a PATH that holds only ``programs`` (links to the real ones), nothing else to find."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in programs:
        real = shutil.which(name)
        assert real, f"{name} must be installed on this machine for this test (.ci/run installs it)"
        (bindir / name).symlink_to(real)
    env = {k: v for k, v in os.environ.items() if k not in {"JAVA_HOME", "CHROMIUM"}}
    env.update(PATH=str(bindir), PLAYWRIGHT_BROWSERS_PATH=str(tmp_path / "no-browsers"))
    return subprocess.run([sys.executable, str(PREFLIGHT)], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(
    ("present", "missing"),
    [(("java",), ["Chromium"]), (("chromium",), ["Java"]), ((), ["Java", "Chromium"])],
    ids=["no-chromium", "no-java", "neither"],
)
def test_what_is_missing_is_named_with_how_to_install_it(tmp_path, present, missing):
    done = _preflight(tmp_path, *present)
    assert done.returncode == 1, done
    assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert [line.split(" is missing")[0].removeprefix("preflight: ") for line in lines] == missing, lines
    for line in lines:
        assert "Debian/Ubuntu: sudo apt-get install" in line and "macOS: brew install" in line and "conda" in line


def test_with_both_present_it_says_where_they_are(tmp_path):
    done = _preflight(tmp_path, "java", "chromium")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("preflight: Java ") and "Chromium " in done.stdout and done.stdout.count("\n") == 1
