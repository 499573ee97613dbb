"""The shipping service: shipments of an order, CREATED until cancelled."""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import config
from .errors import ShipmentCancelled
from .store import Store, now, validate_key, validate_order_id

DB_NAME = "shipping.db"

CREATED = "CREATED"
CANCELLED = "CANCELLED"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS shipments (
    shipment_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('CREATED', 'CANCELLED')),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (order_id, n)
);
CREATE TABLE IF NOT EXISTS cancelled_orders (
    order_id TEXT PRIMARY KEY,
    cancelled_at TEXT NOT NULL
);
"""

_SELECT = "SELECT shipment_id, order_id, status FROM shipments"


@dataclass(frozen=True)
class Shipment:
    """One shipment; the n-th of an order is ``shp-<order>-<n>``."""

    shipment_id: str
    order_id: str
    status: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Shipment:
        return cls(**data)


class ShippingService:
    """Creates and cancels shipments, exactly once per idempotency key."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._store = Store(self.db_path, _SCHEMA)

    @classmethod
    def open(cls, home: Path | None = None) -> ShippingService:
        """The service on ``shipping.db`` in ``home`` (default: :func:`saga_lab.config.home`)."""
        return cls((config.home() if home is None else Path(home)) / DB_NAME)

    def __repr__(self) -> str:
        return f"ShippingService({str(self.db_path)!r})"

    def create_shipment(self, order_id: str, idempotency_key: str) -> Shipment:
        """Create a new shipment for the order, CREATED.

        Compensation wins: once the order's shipments were cancelled
        (:meth:`cancel_shipment`), a booking that arrives later is refused with
        :class:`ShipmentCancelled` and nothing is written: a parcel not yet handed over
        can be refused, so it is.
        """
        validate_order_id(order_id)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> dict[str, Any]:
            if conn.execute("SELECT 1 FROM cancelled_orders WHERE order_id = ?", (order_id,)).fetchone():
                raise ShipmentCancelled(
                    f"the shipments of order {order_id!r} were already cancelled; a late booking is refused "
                    "(use a new order id for a new order)"
                )
            (count,) = conn.execute("SELECT COUNT(*) FROM shipments WHERE order_id = ?", (order_id,)).fetchone()
            shipment = Shipment(f"shp-{order_id}-{count + 1}", order_id, CREATED)
            stamp = now()
            conn.execute(
                "INSERT INTO shipments (shipment_id, order_id, n, status, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (shipment.shipment_id, order_id, count + 1, CREATED, stamp, stamp),
            )
            return shipment.to_dict()

        request = {"order_id": order_id}
        return Shipment.from_dict(self._store.mutate("create_shipment", idempotency_key, request, perform))

    def cancel_shipment(self, order_id: str, idempotency_key: str) -> Shipment | None:
        """Cancel every shipment of the order; the saga's compensation for ``create_shipment``.

        Returns the latest shipment, now CANCELLED, or None when the order has none
        (the compensation may run when the shipment was never created). Either way the
        order is marked cancelled, so a booking that lands later is refused.
        """
        validate_order_id(order_id)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> dict[str, Any] | None:
            conn.execute(
                "INSERT OR IGNORE INTO cancelled_orders (order_id, cancelled_at) VALUES (?, ?)", (order_id, now())
            )
            conn.execute(
                "UPDATE shipments SET status = ?, updated_at = ? WHERE order_id = ? AND status != ?",
                (CANCELLED, now(), order_id, CANCELLED),
            )
            row = conn.execute(_SELECT + " WHERE order_id = ? ORDER BY n DESC LIMIT 1", (order_id,)).fetchone()
            return None if row is None else dict(row)

        response = self._store.mutate("cancel_shipment", idempotency_key, {"order_id": order_id}, perform)
        return None if response is None else Shipment.from_dict(response)

    def shipments(self, order_id: str) -> list[Shipment]:
        """The order's shipments, oldest first."""
        validate_order_id(order_id)
        rows = self._store.query(_SELECT + " WHERE order_id = ? ORDER BY n", (order_id,))
        return [Shipment(**dict(row)) for row in rows]

    def state(self, order_id: str) -> dict[str, Any]:
        """``{"status": ...}`` of the latest shipment, None when there is none."""
        found = self.shipments(order_id)
        return {"status": found[-1].status if found else None}

    def all_shipments(self) -> list[Shipment]:
        """Every shipment, oldest first."""
        return [Shipment(**dict(row)) for row in self._store.query(_SELECT + " ORDER BY rowid")]
