# PASS: a table of keys of its own, read and written in one BEGIN IMMEDIATE transaction, without Store.mutate
"""Exercise 02, right, another style: the idempotency by hand, one transaction, validation with ``type()``."""

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
CREATE TABLE IF NOT EXISTS award_keys (key TEXT PRIMARY KEY, request TEXT NOT NULL, answer TEXT NOT NULL);
"""

MAX_POINTS = 10_000


class LoyaltyService:
    def __init__(self, db_path: Path) -> None:
        self._store = Store(Path(db_path), SCHEMA)

    def balance(self, customer: str) -> int:
        rows = self._store.query("SELECT COALESCE(SUM(points), 0) FROM awards WHERE customer = ?", (customer,))
        return rows[0][0]

    def award(self, customer: str, order_id: str, points: int, idempotency_key: str) -> dict[str, Any]:
        if type(points) is not int or points < 1 or points > MAX_POINTS:
            raise InvalidRequest(f"points must be a whole number from 1 to {MAX_POINTS}, got {points!r}")
        request = json.dumps({"customer": customer, "order_id": order_id, "points": points}, sort_keys=True)
        with self._store.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT request, answer FROM award_keys WHERE key = ?", (idempotency_key,)
                ).fetchone()
                if row is not None:
                    if row["request"] != request:
                        raise IdempotencyConflict(f"key {idempotency_key!r} was already used for {row['request']}")
                    answer = json.loads(row["answer"])
                else:
                    cursor = conn.execute(
                        "INSERT INTO awards (customer, order_id, points) VALUES (?, ?, ?)",
                        (customer, order_id, points),
                    )
                    answer = {
                        "award_id": cursor.lastrowid,
                        "customer": customer,
                        "order_id": order_id,
                        "points": points,
                    }
                    conn.execute(
                        "INSERT INTO award_keys (key, request, answer) VALUES (?, ?, ?)",
                        (idempotency_key, request, json.dumps(answer)),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return answer
