# NOT YET naming "True points were accepted": True is an int in Python
"""Exercise 02, wrong: the validation forgets that bool is a subclass of int."""

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

    def award(self, customer: str, order_id: str, points: int, idempotency_key: str) -> dict[str, Any]:

        if not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
            raise InvalidRequest(f"points must be a whole number from 1 to {MAX_POINTS}, got {points!r}")

        def write(conn: sqlite3.Connection) -> dict[str, Any]:
            cursor = conn.execute(
                "INSERT INTO awards (customer, order_id, points) VALUES (?, ?, ?)", (customer, order_id, points)
            )
            return {"award_id": cursor.lastrowid, "customer": customer, "order_id": order_id, "points": points}

        request = {"customer": customer, "order_id": order_id, "points": points}
        return self._store.mutate("award", idempotency_key, request, write)
