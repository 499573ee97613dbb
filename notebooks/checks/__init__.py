"""The exercises' checks: they run your code and say PASS, or NOT YET and what is wrong.

A check never prints its answer. It imports your module from ``exercises/`` afresh on
every run, so editing the file and rerunning the check cell checks the new code. With
``SAGA_LAB_SOLUTIONS=1`` (the test suite's solved pass) it imports the same module from
``solutions/`` instead. What the checks share lives in :mod:`checks.support`.
"""

from __future__ import annotations

from saga_lab.notebook import check

from .support import fresh_id, lab_is_up, practice

__all__ = ["check", "fresh_id", "lab_is_up", "practice"]
