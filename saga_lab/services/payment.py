"""The payment service: charges and refunds as rows of an append-only ledger.

The ledger is the only table besides the idempotency keys: a payment is its
``charge`` row, what was refunded of it is the sum of its ``refund`` rows, so the
numbers can never disagree with each other.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .. import config
from .errors import InvalidRequest, RefundExceedsCharge, UnknownPayment
from .store import Store, now, validate_amount, validate_key, validate_order_id

DB_NAME = "payment.db"

CHARGED = "CHARGED"
PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
REFUNDED = "REFUNDED"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('charge', 'refund')),
    amount INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_order ON ledger (order_id);
CREATE INDEX IF NOT EXISTS ledger_payment ON ledger (payment_id);
CREATE TABLE IF NOT EXISTS refunded_orders (
    order_id TEXT PRIMARY KEY,
    refunded_at TEXT NOT NULL
);
"""

_PAYMENTS = """
SELECT c.payment_id, c.order_id, c.amount,
       COALESCE((SELECT -SUM(r.amount) FROM ledger r WHERE r.payment_id = c.payment_id AND r.kind = 'refund'), 0)
         AS refunded
FROM ledger c
WHERE c.kind = 'charge' AND {} = ?
ORDER BY c.seq
"""
_PAYMENTS_OF_ORDER = _PAYMENTS.format("c.order_id")
_PAYMENT_BY_ID = _PAYMENTS.format("c.payment_id")
_LEDGER = "SELECT seq, order_id, payment_id, kind, amount, created_at FROM ledger"


@dataclass(frozen=True)
class Payment:
    """One charge; ``refunded`` is what had been refunded of it when it was read."""

    payment_id: str
    order_id: str
    amount: int
    refunded: int = 0

    @property
    def remaining(self) -> int:
        return self.amount - self.refunded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Payment:
        return cls(**data)


@dataclass(frozen=True)
class Refund:
    """Money given back from one payment."""

    refund_id: str
    payment_id: str
    order_id: str
    amount: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Refund:
        return cls(**data)


@dataclass(frozen=True)
class LedgerEntry:
    """One ledger row; ``amount`` is signed: positive for a charge, negative for a refund."""

    seq: int
    order_id: str
    payment_id: str
    kind: str
    amount: int
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class PaymentService:
    """Charges and refunds orders, exactly once per idempotency key."""

    def __init__(
        self, db_path: Path, max_amount: int = config.MAX_AMOUNT_CENTS, *, compensation_wins: bool = True
    ) -> None:
        self.db_path = Path(db_path)
        self.max_amount = max_amount
        #: False only to show what goes wrong without the rule (notebook 07's late charge).
        self.compensation_wins = compensation_wins
        self._store = Store(self.db_path, _SCHEMA)

    @classmethod
    def open(cls, home: Path | None = None) -> PaymentService:
        """The service on ``payment.db`` in ``home`` (default: :func:`saga_lab.config.home`)."""
        return cls((config.home() if home is None else Path(home)) / DB_NAME)

    def __repr__(self) -> str:
        return f"PaymentService({str(self.db_path)!r})"

    def charge(self, order_id: str, amount: int, idempotency_key: str) -> Payment:
        """Charge ``amount`` cents to the order; the n-th payment of an order is ``pay-<order>-<n>``.

        Compensation wins: a charge that lands after the order's refund (:meth:`refund_order`)
        is recorded and at once reversed, so the order's net stays 0. A real card network
        cannot refuse a charge it has already processed, so the late charge is not refused
        but undone, and both ledger rows say what happened.
        """
        validate_order_id(order_id)
        validate_amount(amount, self.max_amount)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> dict[str, Any]:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM ledger WHERE order_id = ? AND kind = 'charge'", (order_id,)
            ).fetchone()
            payment = Payment(f"pay-{order_id}-{count + 1}", order_id, amount, 0)
            _append(conn, order_id, payment.payment_id, "charge", amount)
            if self.compensation_wins and _refunded(conn, order_id):  # the saga gave up on it: reverse it
                _refund(conn, payment, amount)
                payment = Payment(payment.payment_id, order_id, amount, amount)
            return payment.to_dict()

        request = {"order_id": order_id, "amount": amount}
        return Payment.from_dict(self._store.mutate("charge", idempotency_key, request, perform))

    def refund(self, payment_id: str, amount: int, idempotency_key: str) -> Refund:
        """Give back ``amount`` cents of one payment, at most what is left of it."""
        if not isinstance(payment_id, str) or not payment_id:
            raise InvalidRequest(f"payment id must be a string like 'pay-order-42-1', got {payment_id!r}")
        validate_amount(amount, self.max_amount)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> dict[str, Any]:
            payment = _payment(conn, payment_id)
            if amount > payment.remaining:
                raise RefundExceedsCharge(
                    f"cannot refund {amount} cents of {payment_id}: only {payment.remaining} of its "
                    f"{payment.amount} cents are left; refund at most {payment.remaining}"
                )
            return _refund(conn, payment, amount).to_dict()

        request = {"payment_id": payment_id, "amount": amount}
        return Refund.from_dict(self._store.mutate("refund", idempotency_key, request, perform))

    def refund_order(self, order_id: str, idempotency_key: str) -> int:
        """Refund what is left of every payment of the order; the saga's compensation for ``charge``.

        It may run when the charge never happened (the compensation is registered when
        the charge's outcome is unknown), so an order with nothing charged refunds 0. Either
        way the order is marked refunded: a charge that lands later is reversed at once.
        """
        validate_order_id(order_id)
        validate_key(idempotency_key)

        def perform(conn: sqlite3.Connection) -> int:
            rows = conn.execute(_PAYMENTS_OF_ORDER, (order_id,)).fetchall()
            payments = [Payment(**dict(row)) for row in rows]
            conn.execute(
                "INSERT OR IGNORE INTO refunded_orders (order_id, refunded_at) VALUES (?, ?)", (order_id, now())
            )
            return sum(_refund(conn, p, p.remaining).amount for p in payments if p.remaining > 0)

        return self._store.mutate("refund_order", idempotency_key, {"order_id": order_id}, perform)

    def ledger(self, order_id: str | None = None) -> list[LedgerEntry]:
        """Ledger rows in the order they were written, of one order or of all."""
        if order_id is None:
            rows = self._store.query(_LEDGER + " ORDER BY seq")
        else:
            validate_order_id(order_id)
            rows = self._store.query(_LEDGER + " WHERE order_id = ? ORDER BY seq", (order_id,))
        return [LedgerEntry(**dict(row)) for row in rows]

    def payments(self, order_id: str) -> list[Payment]:
        """The order's payments, oldest first, with what has been refunded of each."""
        validate_order_id(order_id)
        rows = self._store.query(_PAYMENTS_OF_ORDER, (order_id,))
        return [Payment(**dict(row)) for row in rows]

    def net(self, order_id: str) -> int:
        """Cents the order still holds: charges minus refunds, 0 when never charged."""
        validate_order_id(order_id)
        return self._store.query("SELECT COALESCE(SUM(amount), 0) FROM ledger WHERE order_id = ?", (order_id,))[0][0]

    def state(self, order_id: str) -> dict[str, Any]:
        """``{"status", "amount", "net"}``: all None for an order never charged."""
        validate_order_id(order_id)
        charged, net = self._store.query(
            "SELECT SUM(CASE WHEN kind = 'charge' THEN amount END), COALESCE(SUM(amount), 0) "
            "FROM ledger WHERE order_id = ?",
            (order_id,),
        )[0]
        if charged is None:
            return {"status": None, "amount": None, "net": None}
        status = CHARGED if net == charged else REFUNDED if net == 0 else PARTIALLY_REFUNDED
        return {"status": status, "amount": charged, "net": net}

    def totals(self) -> dict[str, int]:
        """Charged, refunded (both positive) and net cents over the whole ledger."""
        charged, refunded = self._store.query(
            "SELECT COALESCE(SUM(CASE WHEN kind = 'charge' THEN amount END), 0), "
            "COALESCE(-SUM(CASE WHEN kind = 'refund' THEN amount END), 0) FROM ledger"
        )[0]
        return {"charged": charged, "refunded": refunded, "net": charged - refunded}


def _append(conn: sqlite3.Connection, order_id: str, payment_id: str, kind: str, amount: int) -> None:
    conn.execute(
        "INSERT INTO ledger (order_id, payment_id, kind, amount, created_at) VALUES (?, ?, ?, ?, ?)",
        (order_id, payment_id, kind, amount, now()),
    )


def _refunded(conn: sqlite3.Connection, order_id: str) -> bool:
    return conn.execute("SELECT 1 FROM refunded_orders WHERE order_id = ?", (order_id,)).fetchone() is not None


def _payment(conn: sqlite3.Connection, payment_id: str) -> Payment:
    row = conn.execute(_PAYMENT_BY_ID, (payment_id,)).fetchone()
    if row is None:
        raise UnknownPayment(f"no payment {payment_id!r}; use a payment id returned by charge()")
    return Payment(**dict(row))


def _refund(conn: sqlite3.Connection, payment: Payment, amount: int) -> Refund:
    (count,) = conn.execute(
        "SELECT COUNT(*) FROM ledger WHERE order_id = ? AND kind = 'refund'", (payment.order_id,)
    ).fetchone()
    refund = Refund(f"ref-{payment.order_id}-{count + 1}", payment.payment_id, payment.order_id, amount)
    _append(conn, payment.order_id, payment.payment_id, "refund", -amount)
    return refund
