"""The exercises' checks: they run your code and say PASS, or NOT YET and what is wrong.

A check never prints its answer. It imports your module from ``exercises/`` afresh on
every run, so editing the file and rerunning the check cell checks the new code. With
``SAGA_LAB_SOLUTIONS=1`` (the test suite's solved pass) it imports the same module from
``solutions/`` instead.
"""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from types import ModuleType

from saga_lab.notebook import check

__all__ = ["check", "fresh_id", "practice"]


def practice(name: str) -> ModuleType:
    """The module ``exercises/<name>.py`` as it is on disk now (``solutions/<name>.py`` in the solved pass)."""
    package = "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"
    qualified = f"{package}.{name}"
    if qualified in sys.modules:
        return importlib.reload(sys.modules[qualified])
    return importlib.import_module(qualified)


def fresh_id(exercise: str) -> str:
    """An id for one run of a check (``ex05-3f2a9c``): every rerun starts fresh work."""
    return f"{exercise}-{uuid.uuid4().hex[:6]}"
