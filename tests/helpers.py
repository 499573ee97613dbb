"""Helpers the tests share: the ``saga-lab`` command, is a process alive, wait for it to be gone."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import psutil

#: The notebooks folder: its own packages (checks, exercises, solutions, ...) are on sys.path (conftest.py).
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def saga_lab_command() -> Path:
    """The ``saga-lab`` console script of the environment running the tests (a venv or conda)."""
    beside = Path(sys.executable).with_name("saga-lab")
    if beside.exists():
        return beside
    found = shutil.which("saga-lab")
    if found is None:
        raise RuntimeError("saga-lab is not installed in this environment: pip install -e .")
    return Path(found)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not count)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, timeout: float = 10) -> bool:
    """True once ``pid`` is gone, False if it still runs after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False
