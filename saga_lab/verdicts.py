"""Every exercise check's verdict goes through :func:`record` (the one hook for what follows a verdict).

Here it tells the room (:func:`saga_lab.room.report_verdict`): nothing happens when no room runs.
"""

from __future__ import annotations

from . import room


def record(exercise: str, passed: bool, message: str) -> None:
    """A check's verdict on ``exercise`` (``"e05"``): PASS or NOT YET, and the message it printed."""
    room.report_verdict(exercise, passed, message)
