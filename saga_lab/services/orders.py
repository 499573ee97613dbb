"""The order service: orders that are ACTIVE until cancelled."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import config
from .errors import IdempotencyConflict, OrderCancelled, UnknownOrder
from .store import Store, now, validate_amount, validate_key, validate_order_id

DB_NAME = "orders.db"

ACTIVE = "ACTIVE"
CANCELLED = "CANCELLED"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'CANCELLED')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

_SELECT = "SELECT order_id, amount, status FROM orders"


@dataclass(frozen=True)
class Order:
    """An order; a cancelled order that was never created has amount 0 (a tombstone)."""

    order_id: str
    amount: int
    status: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        return cls(**data)


class OrderService:
    """Creates and cancels orders, exactly once per idempotency key."""

    def __init__(self, db_path: Path, max_amount: int = config.MAX_AMOUNT_CENTS) -> None:
        self.db_path = Path(db_path)
        self.max_amount = max_amount
        self._store = Store(self.db_path, _SCHEMA)

    @classmethod
    def open(cls, home: Path | None = None) -> OrderService:
        """The service on ``orders.db`` in ``home`` (default: :func:`saga_lab.config.home`)."""
        return cls((config.home() if home is None else Path(home)) / DB_NAME)

    def __repr__(self) -> str:
        return f"OrderService({str(self.db_path)!r})"

    def create_order(self, order_id: str, amount: int, idempotency_key: str) -> Order:
        """Create the order ACTIVE.

        The order id is itself a natural key: creating an existing active order again
        (under another idempotency key) returns it when the amount matches and raises
        :class:`IdempotencyConflict` when it does not. An order already cancelled raises
        :class:`OrderCancelled`: see :meth:`cancel_order` for why cancel wins.
        """
        validate_order_id(order_id)
        validate_amount(amount, self.max_amount)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> dict[str, Any]:
            existing = _get(conn, order_id)
            if existing is None:
                stamp = now()
                conn.execute(
                    "INSERT INTO orders (order_id, amount, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (order_id, amount, ACTIVE, stamp, stamp),
                )
                return Order(order_id, amount, ACTIVE).to_dict()
            if existing.status == CANCELLED:
                raise OrderCancelled(
                    f"order {order_id!r} was already cancelled and cannot be created again; use a new order id"
                )
            if existing.amount != amount:
                raise IdempotencyConflict(
                    f"order {order_id!r} already exists with amount {existing.amount}, not {amount}; "
                    "use a new order id for a different order"
                )
            return existing.to_dict()

        request = {"order_id": order_id, "amount": amount}
        return Order.from_dict(self._store.mutate("create_order", idempotency_key, request, perform))

    def cancel_order(self, order_id: str, idempotency_key: str) -> Order:
        """Mark the order CANCELLED; the saga's compensation for ``create_order``.

        The compensation is registered before its action, and an action whose activity
        timed out may still land later, so cancel can arrive before create. Cancelling an
        unknown order therefore records a tombstone (amount 0, CANCELLED) and a later
        ``create_order`` for that id raises :class:`OrderCancelled`: cancel wins, so a
        late create can never leave an order active after the saga gave up on it.
        """
        validate_order_id(order_id)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> dict[str, Any]:
            existing = _get(conn, order_id)
            stamp = now()
            if existing is None:
                conn.execute(
                    "INSERT INTO orders (order_id, amount, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (order_id, 0, CANCELLED, stamp, stamp),
                )
                return Order(order_id, 0, CANCELLED).to_dict()
            if existing.status != CANCELLED:
                conn.execute(
                    "UPDATE orders SET status = ?, updated_at = ? WHERE order_id = ?", (CANCELLED, stamp, order_id)
                )
            return Order(order_id, existing.amount, CANCELLED).to_dict()

        return Order.from_dict(self._store.mutate("cancel_order", idempotency_key, {"order_id": order_id}, perform))

    def get(self, order_id: str) -> Order | None:
        """The order, or None when there is none."""
        validate_order_id(order_id)
        rows = self._store.query(_SELECT + " WHERE order_id = ?", (order_id,))
        return Order(**dict(rows[0])) if rows else None

    def order(self, order_id: str) -> Order:
        """The order, or :class:`UnknownOrder`."""
        found = self.get(order_id)
        if found is None:
            raise UnknownOrder(f"no order {order_id!r}; create it with create_order() first")
        return found

    def state(self, order_id: str) -> dict[str, Any]:
        """``{"status": "ACTIVE" | "CANCELLED" | None}``."""
        found = self.get(order_id)
        return {"status": None if found is None else found.status}

    def all_orders(self) -> list[Order]:
        """Every order, oldest first."""
        return [Order(**dict(row)) for row in self._store.query(_SELECT + " ORDER BY rowid")]


def _get(conn: sqlite3.Connection, order_id: str) -> Order | None:
    row = conn.execute(_SELECT + " WHERE order_id = ?", (order_id,)).fetchone()
    return None if row is None else Order(**dict(row))
