"""Shared by the bench scripts: a throw-away embedded server and a small table printer."""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from pathlib import Path

from saga_lab import server


@contextlib.contextmanager
def scratch_server():
    """A fresh embedded server (own data dir, free ports), stopped afterwards."""
    home = Path(tempfile.mkdtemp(prefix="saga-lab-bench-"))
    settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    try:
        yield info, home
    finally:
        server.stop(settings)


def print_table(rows: list[dict]) -> None:
    columns = list(rows[0])
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths)))


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.0f}"
