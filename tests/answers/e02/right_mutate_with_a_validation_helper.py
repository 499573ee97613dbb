# PASS: Store.mutate with the request in another order and the validation in a helper
"""Exercise 02, right, another style: a validation helper, the request with its fields in another order."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from saga_lab.services import InvalidRequest
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
    def __init__(self, db_path: Path) -> None:
        self._store = Store(Path(db_path), SCHEMA)

    def balance(self, customer: str) -> int:
        rows = self._store.query("SELECT COALESCE(SUM(points), 0) FROM awards WHERE customer = ?", (customer,))
        return rows[0][0]

    @staticmethod
    def _valid(points: Any) -> int:
        if isinstance(points, int) and not isinstance(points, bool) and 0 < points <= MAX_POINTS:
            return points
        raise InvalidRequest(f"points must be a whole number from 1 to {MAX_POINTS}, got {points!r}")

    def award(self, customer: str, order_id: str, points: int, idempotency_key: str) -> dict[str, Any]:

        points = self._valid(points)

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            cursor = conn.execute(
                "INSERT INTO awards (customer, order_id, points) VALUES (?, ?, ?)", (customer, order_id, points)
            )
            return {"award_id": cursor.lastrowid, "customer": customer, "order_id": order_id, "points": points}

        request = {"points": points, "order_id": order_id, "customer": customer}
        return self._store.mutate("award", idempotency_key, request, write)
