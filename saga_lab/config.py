"""Names and places shared by every layer: the saga's steps, task queues, the data directory, limits."""

from __future__ import annotations

import os
from pathlib import Path

# ---------------------------------------------------------------- the saga's vocabulary

#: The forward steps, in the order the saga runs them.
ACTIONS = ("charge", "create_order", "create_shipment")
#: The step that undoes each forward step (``cancel_shipment`` runs only when the
#: shipment's outcome is unknown: a booked shipment is the pivot and is not undone).
UNDO = {"charge": "refund", "create_order": "cancel_order", "create_shipment": "cancel_shipment"}
#: Every compensation, in the order the saga would run them (reverse of the actions).
COMPENSATIONS = tuple(UNDO[step] for step in reversed(ACTIONS))
#: Every step a fault can be injected into.
STEPS = ACTIONS + COMPENSATIONS

# ---------------------------------------------------------------- task queues

PAYMENT_TASK_QUEUE = "payment-task-queue"
ORDER_TASK_QUEUE = "order-task-queue"
SHIPPING_TASK_QUEUE = "shipping-task-queue"
WORKFLOW_TASK_QUEUE = "order-saga-task-queue"

#: The workers a learner runs, and the task queue each one polls (before the learner prefix).
SERVICES = ("payment", "order", "shipping", "workflow")
TASK_QUEUES = {
    "payment": PAYMENT_TASK_QUEUE,
    "order": ORDER_TASK_QUEUE,
    "shipping": SHIPPING_TASK_QUEUE,
    "workflow": WORKFLOW_TASK_QUEUE,
}

#: The largest amount one order may charge, in cents.
MAX_AMOUNT_CENTS = 1_000_000

# ---------------------------------------------------------------- names behind a learner prefix
# On a shared server every learner's task queues and workflow ids carry the prefix
# "<learner>/" (see :func:`saga_lab.connection.learner_prefix`); these read and build them.


def task_queue(service: str, prefix: str) -> str:
    """The task queue the worker of ``service`` polls, behind ``prefix`` (``""`` or ``"ada/"``)."""
    if service not in TASK_QUEUES:
        raise ValueError(f"unknown service {service!r}: use one of {', '.join(SERVICES)}")
    return prefix + TASK_QUEUES[service]


def prefix_of(name: str) -> str:
    """The learner prefix of a task queue or workflow id (``"ada/"`` of ``"ada/order-saga-task-queue"``)."""
    return name[: name.rfind("/") + 1]


def service_of(queue: str) -> str | None:
    """The service whose worker polls ``queue`` (any learner prefix), or None."""
    base = queue[queue.rfind("/") + 1 :]
    return next((name for name, q in TASK_QUEUES.items() if q == base), None)


def order_id_of(workflow_id: str) -> str:
    """The order id inside a saga's workflow id (whatever its learner prefix)."""
    return workflow_id[workflow_id.rfind("/") + 1 :]


# ---------------------------------------------------------------- the data directory


def home() -> Path:
    """The data directory: ``$SAGA_LAB_HOME``, else ``.saga-lab/`` in the repository.

    Outside a source checkout (an installed wheel) it falls back to ``~/.saga-lab``.
    """
    configured = os.environ.get("SAGA_LAB_HOME")
    if configured:
        return Path(configured).expanduser().resolve()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").exists():
        return repo / ".saga-lab"
    return Path.home() / ".saga-lab"
