"""CPU seconds per test file: where ``make test``'s time goes (2 cores: CPU, not wall time, is what fills them).

    .venv/bin/python bench/cpu_per_file.py tests/test_chaos.py notebooks/11_chaos_at_scale.ipynb
    .venv/bin/python bench/cpu_per_file.py --all      # every test file and notebook, one after another (long)

Each file runs alone (``pytest FILE -n 0``, as ``make test`` runs it, its own session server included);
its CPU is the user + system time of pytest and everything it started and waited for (kernels, the
Temporal servers, Chromium, worker processes). Wall times are printed too, but on a machine others
share they say little.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import print_table

ROOT = Path(__file__).resolve().parent.parent
NBVAL = ["--nbval-lax", "--nbval-sanitize-with", "notebooks/sanitize.cfg", "--nbval-cell-timeout=300"]


def measure(path: str) -> dict:
    """Run one test file alone; its CPU seconds (itself and its reaped descendants), wall seconds and outcome."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    command = [sys.executable, "-m", "pytest", *NBVAL, "-n", "0", "-p", "no:cacheprovider", "-q", path]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    return {"file": path, "cpu s": f"{cpu:.0f}", "wall s": f"{time.monotonic() - began:.0f}", "outcome": last[-60:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="test files or notebooks, relative to the repository")
    parser.add_argument("--all", action="store_true", help="every tests/test_*.py and notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    paths = args.paths or []
    if args.all:
        paths += [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("tests/test_*.py"))]
        paths += [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"))]
    if not paths:
        parser.error("name test files, or --all")
    rows = []
    for path in paths:
        rows.append(measure(path))
        print(
            f"{rows[-1]['file']}: {rows[-1]['cpu s']} s CPU, {rows[-1]['wall s']} s wall", file=sys.stderr, flush=True
        )
    print_table(rows, title="CPU seconds per test file, each alone (-n 0)")
    total = sum(float(row["cpu s"]) for row in rows)
    print(f"total: {total:.0f} s CPU, {total / 2:.0f} s on 2 cores kept busy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
