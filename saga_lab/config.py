"""Names and places shared by every layer: task queues, the data directory, limits."""

from __future__ import annotations

import os
from pathlib import Path

PAYMENT_TASK_QUEUE = "payment-task-queue"
ORDER_TASK_QUEUE = "order-task-queue"
SHIPPING_TASK_QUEUE = "shipping-task-queue"
WORKFLOW_TASK_QUEUE = "order-saga-task-queue"

#: The largest amount one order may charge, in cents.
MAX_AMOUNT_CENTS = 1_000_000

_REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The data directory: ``$SAGA_LAB_HOME``, else ``.saga-lab/`` in the repository.

    Outside a source checkout (an installed wheel) it falls back to ``~/.saga-lab``.
    """
    configured = os.environ.get("SAGA_LAB_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    if (_REPO_ROOT / "pyproject.toml").exists():
        return _REPO_ROOT / ".saga-lab"
    return Path.home() / ".saga-lab"
