"""Exercise 02 · an idempotent service call of your own: loyalty points.

A fourth, small service: every order earns the customer points. ``award`` is called
over a network, so a caller that lost the reply sends the very same request again,
and Temporal does exactly that when it retries an activity. Make ``award``:

- harmless to repeat: the same idempotency key with the same request returns the first
  answer and writes nothing, even when the copies arrive at the same moment;
- strict: the same key with a different request is refused with ``IdempotencyConflict``;
- careful: points that are not a whole number from 1 to ``MAX_POINTS`` are refused with
  ``InvalidRequest``, in one line, and nothing is written, not even the key.

Fill in the TODOs, save the file, and run the check cell of notebook 02 again. The
check opens the service on a new database file and calls it like a retrying caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from saga_lab.services import IdempotencyConflict, InvalidRequest  # noqa: F401 (for the TODOs)
from saga_lab.services.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS awards (
    award_id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer TEXT NOT NULL,
    order_id TEXT NOT NULL,
    points INTEGER NOT NULL
);
"""

MAX_POINTS = 10_000


class LoyaltyService:
    """Points per customer: one row per award, the balance is their sum."""

    def __init__(self, db_path: Path) -> None:
        self._store = Store(Path(db_path), SCHEMA)

    def balance(self, customer: str) -> int:
        rows = self._store.query("SELECT COALESCE(SUM(points), 0) FROM awards WHERE customer = ?", (customer,))
        return rows[0][0]

    def award(self, customer: str, order_id: str, points: int, idempotency_key: str) -> dict[str, Any]:
        """Give ``customer`` ``points`` for ``order_id``; returns the award as a dict."""
        # TODO 1: refuse bad points before anything is written (see the module's docstring).
        # TODO 2: today every call writes a row, so a retry awards the points twice. Make
        #         the write happen once per idempotency key, as the three services do
        #         (notebook 02, section 3 shows how).
        with self._store.connection() as conn:
            cursor = conn.execute(
                "INSERT INTO awards (customer, order_id, points) VALUES (?, ?, ?)", (customer, order_id, points)
            )
            return {"award_id": cursor.lastrowid, "customer": customer, "order_id": order_id, "points": points}
