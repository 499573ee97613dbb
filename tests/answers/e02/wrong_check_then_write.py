# NOT YET naming "copies of one request sent at the same moment": the key is looked up, then written, in two steps
"""Exercise 02, wrong: a table of keys of its own, read in one transaction and written in another."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from saga_lab.services import IdempotencyConflict, InvalidRequest
from saga_lab.services.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS awards (
    award_id INTEGER PRIMARY KEY AUTOINCREMENT,
    customer TEXT NOT NULL,
    order_id TEXT NOT NULL,
    points INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS award_keys (key TEXT, request TEXT, answer TEXT);
"""

MAX_POINTS = 10_000


class LoyaltyService:
    def __init__(self, db_path: Path) -> None:
        self._store = Store(Path(db_path), SCHEMA)

    def balance(self, customer: str) -> int:
        rows = self._store.query("SELECT COALESCE(SUM(points), 0) FROM awards WHERE customer = ?", (customer,))
        return rows[0][0]

    def award(self, customer: str, order_id: str, points: int, idempotency_key: str) -> dict[str, Any]:
        if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
            raise InvalidRequest(f"points must be a whole number from 1 to {MAX_POINTS}, got {points!r}")
        request = json.dumps([customer, order_id, points])
        seen = self._store.query("SELECT request, answer FROM award_keys WHERE key = ?", (idempotency_key,))
        if seen:
            if seen[0]["request"] != request:
                raise IdempotencyConflict(f"key {idempotency_key!r} was used for another request")
            return json.loads(seen[0]["answer"])
        with self._store.connection() as conn:
            cursor = conn.execute(
                "INSERT INTO awards (customer, order_id, points) VALUES (?, ?, ?)", (customer, order_id, points)
            )
            answer = {"award_id": cursor.lastrowid, "customer": customer, "order_id": order_id, "points": points}
            conn.execute(
                "INSERT INTO award_keys (key, request, answer) VALUES (?, ?, ?)",
                (idempotency_key, request, json.dumps(answer)),
            )
            conn.commit()
        return answer
