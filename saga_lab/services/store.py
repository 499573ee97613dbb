"""SQLite plumbing shared by the three services: connections, schema, validation, idempotency.

Each call opens its own connection, so a service object can be used from any thread,
and every mutation runs inside ``BEGIN IMMEDIATE``, so workers in other processes
writing the same file are serialised by SQLite's own lock.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import IdempotencyConflict, InvalidAmount, InvalidIdempotencyKey, InvalidOrderId

#: How long a writer waits for another process's lock before giving up.
BUSY_TIMEOUT_S = 10.0

ORDER_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_KEY_LENGTH = 200

IDEMPOTENCY_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    request TEXT NOT NULL,
    response TEXT NOT NULL
);
"""

Json = Any


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, 10 s busy timeout."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 10000")
        _use_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch a fresh file to WAL, retrying: SQLite answers "locked" at once, without
    waiting on the busy timeout, when several processes switch the same new file."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() == "wal":
                return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(f"could not switch {conn!r} to WAL within {BUSY_TIMEOUT_S} s")
        time.sleep(0.005)


def canonical_json(value: Json) -> str:
    """One spelling per value, so equal requests compare equal as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def now() -> str:
    """A UTC timestamp for ``created_at`` columns."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """One SQLite file of one service: its schema plus the idempotency table."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = Path(path)
        with self.connection() as conn:
            conn.executescript(IDEMPOTENCY_SCHEMA + schema)

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with closing(connect(self.path)) as conn:
            yield conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Rows of one read-only statement."""
        with self.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def mutate(
        self,
        operation: str,
        key: str,
        request: Mapping[str, Json],
        mutation: Callable[[sqlite3.Connection], Json],
    ) -> Json:
        """Run ``mutation`` once per idempotency key and return its JSON response.

        A repeat of the same operation and request with the same key returns the stored
        response and writes nothing; the same key with another operation or request raises
        :class:`IdempotencyConflict`. The first and every later answer are decoded from the
        same stored JSON, so they are equal. Any exception rolls everything back,
        including the key, so a refused request can be retried with the same key.
        """
        payload = canonical_json(dict(request))
        with self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT operation, request, response FROM idempotency WHERE key = ?", (key,)
                ).fetchone()
                if row is not None:
                    if row["operation"] != operation or row["request"] != payload:
                        raise IdempotencyConflict(
                            f"idempotency key {key!r} was already used for {row['operation']} {row['request']}, "
                            f"not {operation} {payload}; use a new key for a different request"
                        )
                    response = row["response"]
                else:
                    response = canonical_json(mutation(conn))
                    conn.execute(
                        "INSERT INTO idempotency (key, operation, request, response) VALUES (?, ?, ?, ?)",
                        (key, operation, payload, response),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return json.loads(response)


def validate_order_id(order_id: object) -> str:
    """The order id, or :class:`InvalidOrderId` saying what a valid one looks like."""
    if not isinstance(order_id, str) or not ORDER_ID_PATTERN.fullmatch(order_id):
        raise InvalidOrderId(
            "order id must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit "
            f"(e.g. 'order-42'), got {order_id!r}"
        )
    return order_id


def validate_amount(amount: object, max_amount: int) -> int:
    """The amount in cents, or :class:`InvalidAmount`; floats, bools and Decimals are refused."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= max_amount:
        hint = " (pass cents as an int, e.g. 1050 for 10.50)" if not isinstance(amount, int) else ""
        raise InvalidAmount(f"amount must be a whole number of cents from 1 to {max_amount}, got {amount!r}{hint}")
    return amount


def validate_key(key: object) -> str:
    """The idempotency key, or :class:`InvalidIdempotencyKey`."""
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        shown = f"{key[:40]!r}... ({len(key)} characters)" if isinstance(key, str) and len(key) > 40 else repr(key)
        raise InvalidIdempotencyKey(
            f"idempotency key must be a non-blank string of at most {MAX_KEY_LENGTH} characters "
            f"(e.g. '<workflow id>:charge'), got {shown}"
        )
    return key
