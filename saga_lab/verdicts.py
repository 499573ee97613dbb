"""Each exercise's last verdict, kept in the learner's data directory: where they were, after a restart or a new day.

Every exercise check says PASS or NOT YET through :func:`record`, which keeps the last
verdict per exercise in ``verdicts.json`` under :func:`saga_lab.config.home` (written
whole and atomically, under a file lock, so two kernels never leave half a file).
``saga-lab exercises`` reads them back with :func:`load`. Keeping a verdict never stops
a check: a data directory that cannot be written is skipped in silence.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from . import config

FILE_NAME = "verdicts.json"


@dataclass(frozen=True)
class Verdict:
    """An exercise's last verdict: PASS (``passed``) or NOT YET, what the check said, and when (UTC, ISO 8601)."""

    exercise: str
    passed: bool
    message: str
    at: str

    @property
    def word(self) -> str:
        return "PASS" if self.passed else "NOT YET"


def path() -> Path:
    return config.home() / FILE_NAME


def load() -> dict[str, Verdict]:
    """The last verdict of every exercise tried, by exercise (``"e05"``); empty when none was kept."""
    try:
        raw = json.loads(path().read_text(encoding="utf-8"))
        return {name: Verdict(**fields) for name, fields in raw.items()}
    except (OSError, ValueError, TypeError):
        return {}


def record(exercise: str, passed: bool, message: str) -> None:
    """Keep ``exercise``'s verdict (``"e05"``, PASS or not, the line the check printed) as its last one."""
    target = path()
    verdict = Verdict(exercise, bool(passed), message, datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(f"{target}.lock", timeout=5):
            kept = {name: asdict(v) for name, v in load().items()}
            kept[exercise] = asdict(verdict)
            handle, temporary = tempfile.mkstemp(prefix=".verdicts-", dir=target.parent)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(kept, out, indent=1, sort_keys=True)
            os.replace(temporary, target)
    except (OSError, Timeout):
        pass  # a verdict not kept never costs the learner their check
