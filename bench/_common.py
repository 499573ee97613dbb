"""Shared by the bench scripts: a throw-away embedded server, and tables printed by the lab's one table printer."""

from __future__ import annotations

import contextlib
import shutil
import statistics
import tempfile
from pathlib import Path

from saga_lab import server
from saga_lab.notebook import Table


@contextlib.contextmanager
def scratch_server():
    """A fresh embedded server (own data dir, free ports), stopped and its data dir removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="saga-lab-bench-"))
    settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    try:
        yield info, home
    finally:
        server.stop(settings)
        shutil.rmtree(home, ignore_errors=True)


def print_table(rows: list[dict], title: str | None = None) -> None:
    print(repr(Table(rows, title=title)))


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.0f}"
