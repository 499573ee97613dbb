"""The services layer: plain Python over SQLite, no Temporal."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import threading
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import pytest

from saga_lab import config
from saga_lab.services import (
    NON_RETRYABLE_ERROR_TYPES,
    IdempotencyConflict,
    InvalidAmount,
    InvalidIdempotencyKey,
    InvalidOrderId,
    InvalidRequest,
    LedgerEntry,
    Order,
    OrderCancelled,
    OrderService,
    Payment,
    PaymentDeclined,
    PaymentService,
    Refund,
    RefundExceedsCharge,
    ServiceError,
    Services,
    Shipment,
    ShipmentCancelled,
    ShippingService,
    UnknownOrder,
    UnknownPayment,
    errors,
    open_services,
)
from saga_lab.services.store import Store, validate_amount

BAD_AMOUNTS = [0, -1, 10.5, 10.0, True, False, config.MAX_AMOUNT_CENTS + 1, "100", None, Decimal("10")]
BAD_ORDER_IDS = ["", "a b", "../x", "x" * 65, "-lead", "_lead", "a'b", "a\n", "ordre/1", None, 42]
BAD_KEYS = ["", "   ", "k" * 201, None, 7]


def count(db: Path, table: str) -> int:
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


@pytest.fixture
def payment(tmp_path: Path) -> PaymentService:
    return PaymentService(tmp_path / "payment.db")


@pytest.fixture
def orders(tmp_path: Path) -> OrderService:
    return OrderService(tmp_path / "orders.db")


@pytest.fixture
def shipping(tmp_path: Path) -> ShippingService:
    return ShippingService(tmp_path / "shipping.db")


# --- errors -------------------------------------------------------------------------


def test_every_error_is_a_service_error_named_by_its_class() -> None:
    classes = [getattr(errors, name) for name in NON_RETRYABLE_ERROR_TYPES]
    assert all(issubclass(cls, ServiceError) and cls.type_name == cls.__name__ for cls in classes)
    for name in (
        "InvalidAmount",
        "UnknownOrder",
        "UnknownPayment",
        "RefundExceedsCharge",
        "IdempotencyConflict",
        "OrderCancelled",
        "PaymentDeclined",
        "OrderRejected",
        "ShipmentRejected",
        "RefundRejected",
        "CancellationRejected",
        "InvalidOrderId",
        "InvalidIdempotencyKey",
    ):
        assert name in NON_RETRYABLE_ERROR_TYPES
    assert issubclass(InvalidAmount, InvalidRequest) and issubclass(InvalidOrderId, InvalidRequest)
    assert issubclass(InvalidIdempotencyKey, InvalidRequest)
    error = PaymentDeclined("card declined")
    assert error.type_name == "PaymentDeclined" and str(error) == "card declined"
    assert str(pickle.loads(pickle.dumps(error))) == "card declined"


# --- payment: happy paths -----------------------------------------------------------


def test_charge_appends_one_ledger_row_and_numbers_payments_per_order(payment: PaymentService) -> None:
    first = payment.charge("order-1", 1500, "order-1:charge")
    assert first == Payment("pay-order-1-1", "order-1", 1500, 0)
    second = payment.charge("order-1", 200, "order-1:charge-again")
    assert second.payment_id == "pay-order-1-2"
    assert payment.charge("order-2", 99, "order-2:charge").payment_id == "pay-order-2-1"

    entries = payment.ledger("order-1")
    assert [(e.seq, e.payment_id, e.kind, e.amount) for e in entries] == [
        (1, "pay-order-1-1", "charge", 1500),
        (2, "pay-order-1-2", "charge", 200),
    ]
    assert all(isinstance(e, LedgerEntry) and e.created_at for e in entries)
    assert len(payment.ledger()) == 3
    assert payment.net("order-1") == 1700
    assert payment.payments("order-1") == [first, second]
    assert payment.state("order-1") == {"status": "CHARGED", "amount": 1700, "net": 1700}
    assert first.to_dict() == {"payment_id": "pay-order-1-1", "order_id": "order-1", "amount": 1500, "refunded": 0}


def test_refund_partially_then_fully(payment: PaymentService) -> None:
    charged = payment.charge("o1", 1000, "o1:charge")
    refund = payment.refund(charged.payment_id, 300, "o1:refund-1")
    assert refund == Refund("ref-o1-1", "pay-o1-1", "o1", 300)
    assert payment.state("o1") == {"status": "PARTIALLY_REFUNDED", "amount": 1000, "net": 700}
    assert payment.payments("o1")[0].refunded == 300

    assert payment.refund(charged.payment_id, 700, "o1:refund-2").refund_id == "ref-o1-2"
    assert payment.state("o1") == {"status": "REFUNDED", "amount": 1000, "net": 0}
    assert [e.amount for e in payment.ledger("o1")] == [1000, -300, -700]
    assert payment.totals() == {"charged": 1000, "refunded": 1000, "net": 0}


def test_refund_order_refunds_what_is_left_of_every_payment(payment: PaymentService) -> None:
    first = payment.charge("o1", 1000, "k1")
    payment.charge("o1", 500, "k2")
    payment.charge("other", 50, "k3")
    payment.refund(first.payment_id, 400, "k4")

    assert payment.refund_order("o1", "o1:compensate") == 1100
    assert payment.net("o1") == 0
    assert payment.state("o1")["status"] == "REFUNDED"
    assert [(e.payment_id, e.amount) for e in payment.ledger("o1")[-2:]] == [("pay-o1-1", -600), ("pay-o1-2", -500)]
    assert payment.refund_order("o1", "o1:compensate") == 1100
    assert payment.refund_order("o1", "o1:compensate-again") == 0
    assert len(payment.ledger("o1")) == 5
    assert payment.totals() == {"charged": 1550, "refunded": 1500, "net": 50}


def test_refund_order_when_nothing_was_charged_writes_no_ledger_row(payment: PaymentService) -> None:
    assert payment.refund_order("never-charged", "never-charged:compensate") == 0
    assert payment.refund_order("never-charged", "never-charged:compensate") == 0
    assert count(payment.db_path, "ledger") == 0
    assert count(payment.db_path, "idempotency") == 1
    assert count(payment.db_path, "refunded_orders") == 1  # remembered: a late charge will be reversed


# ---------------------------------------------------------------- compensation wins: late work


def test_a_charge_that_lands_after_the_orders_refund_is_reversed_at_once(payment: PaymentService) -> None:
    """The saga gave up and refunded; then the charge it had sent lands. The net must stay 0."""
    assert payment.refund_order("o1", "o1:refund") == 0
    late = payment.charge("o1", 1000, "o1:charge")
    assert late == Payment("pay-o1-1", "o1", 1000, 1000)  # charged and refunded in one go
    assert [(e.kind, e.amount) for e in payment.ledger("o1")] == [("charge", 1000), ("refund", -1000)]
    assert payment.net("o1") == 0 and payment.state("o1")["status"] == "REFUNDED"
    assert payment.charge("o1", 1000, "o1:charge") == late  # a retry of the late charge: nothing new
    assert len(payment.ledger("o1")) == 2


def test_a_charge_before_the_refund_is_refunded_and_its_late_replay_writes_nothing(payment: PaymentService) -> None:
    first = payment.charge("o1", 1000, "o1:charge")
    assert payment.refund_order("o1", "o1:refund") == 1000
    assert payment.charge("o1", 1000, "o1:charge") == first  # the same key: the stored answer
    assert payment.net("o1") == 0 and len(payment.ledger("o1")) == 2


def test_a_partial_refund_by_payment_does_not_close_the_order(payment: PaymentService) -> None:
    charged = payment.charge("o1", 1000, "o1:charge")
    payment.refund(charged.payment_id, 400, "o1:goodwill")
    again = payment.charge("o1", 200, "o1:extra")
    assert again.refunded == 0 and payment.net("o1") == 800


def test_a_shipment_booked_after_its_cancellation_is_refused_and_writes_nothing(shipping: ShippingService) -> None:
    assert shipping.cancel_shipment("o1", "o1:cancel_shipment") is None
    with pytest.raises(ShipmentCancelled, match="already cancelled"):
        shipping.create_shipment("o1", "o1:create_shipment")
    assert shipping.shipments("o1") == [] and shipping.state("o1") == {"status": None}
    assert count(shipping.db_path, "idempotency") == 1  # only the cancellation's key
    with pytest.raises(ShipmentCancelled):  # and it stays refused: a retry is refused too
        shipping.create_shipment("o1", "o1:create_shipment")


def test_a_shipment_booked_before_its_cancellation_is_cancelled(shipping: ShippingService) -> None:
    booked = shipping.create_shipment("o1", "o1:create_shipment")
    cancelled = shipping.cancel_shipment("o1", "o1:cancel_shipment")
    assert cancelled == Shipment(booked.shipment_id, "o1", "CANCELLED")
    assert shipping.create_shipment("o1", "o1:create_shipment") == booked  # the stored answer of the old key
    assert [s.status for s in shipping.shipments("o1")] == ["CANCELLED"]


def test_state_and_totals_of_an_unknown_order(payment: PaymentService) -> None:
    assert payment.state("nobody") == {"status": None, "amount": None, "net": None}
    assert payment.net("nobody") == 0
    assert payment.payments("nobody") == [] and payment.ledger("nobody") == []
    assert payment.totals() == {"charged": 0, "refunded": 0, "net": 0}


# --- payment: idempotency -----------------------------------------------------------


def test_same_charge_twice_returns_the_same_payment_and_one_row(payment: PaymentService) -> None:
    first = payment.charge("o1", 1000, "o1:charge")
    again = payment.charge("o1", 1000, "o1:charge")
    assert again == first and type(again) is Payment
    assert count(payment.db_path, "ledger") == 1
    assert count(payment.db_path, "idempotency") == 1


def test_same_refund_twice_refunds_once(payment: PaymentService) -> None:
    charged = payment.charge("o1", 1000, "c")
    assert payment.refund(charged.payment_id, 100, "r") == payment.refund(charged.payment_id, 100, "r")
    assert payment.net("o1") == 900


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.charge("o1", 999, "o1:charge"),
        lambda p: p.charge("o2", 1000, "o1:charge"),
        lambda p: p.refund_order("o1", "o1:charge"),
        lambda p: p.refund("pay-o1-1", 1000, "o1:charge"),
    ],
    ids=["other-amount", "other-order", "other-operation", "refund-with-charge-key"],
)
def test_same_key_with_another_request_conflicts_and_writes_nothing(payment: PaymentService, call) -> None:
    payment.charge("o1", 1000, "o1:charge")
    with pytest.raises(IdempotencyConflict, match="o1:charge"):
        call(payment)
    assert count(payment.db_path, "ledger") == 1
    assert count(payment.db_path, "idempotency") == 1


# --- payment: refused requests write nothing ----------------------------------------


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
def test_bad_amount_is_refused_before_any_write(payment: PaymentService, amount) -> None:
    with pytest.raises(InvalidAmount, match="whole number of cents from 1 to 1000000"):
        payment.charge("o1", amount, "o1:charge")
    assert count(payment.db_path, "ledger") == 0
    assert count(payment.db_path, "idempotency") == 0


def test_amount_message_says_what_is_wrong() -> None:
    with pytest.raises(InvalidAmount) as caught:
        validate_amount(-5, 1_000_000)
    assert str(caught.value) == "amount must be a whole number of cents from 1 to 1000000, got -5"
    assert validate_amount(1, 10) == 1 and validate_amount(10, 10) == 10


def test_the_amount_limit_is_configurable(tmp_path: Path) -> None:
    small = PaymentService(tmp_path / "payment.db", max_amount=100)
    assert small.charge("o1", 100, "a").amount == 100
    with pytest.raises(InvalidAmount, match="from 1 to 100, got 101"):
        small.charge("o1", 101, "b")


@pytest.mark.parametrize("order_id", BAD_ORDER_IDS, ids=repr)
def test_bad_order_id_is_refused_by_every_service(tmp_path: Path, order_id) -> None:
    services = open_services(tmp_path)
    calls = [
        lambda: services.payment.charge(order_id, 100, "k"),
        lambda: services.payment.refund_order(order_id, "k"),
        lambda: services.orders.create_order(order_id, 100, "k"),
        lambda: services.orders.cancel_order(order_id, "k"),
        lambda: services.shipping.create_shipment(order_id, "k"),
        lambda: services.shipping.cancel_shipment(order_id, "k"),
        lambda: services.payment.state(order_id),
    ]
    for call in calls:
        with pytest.raises(InvalidOrderId, match="order id must be 1 to 64"):
            call()
    assert count(tmp_path / "payment.db", "ledger") == 0
    assert count(tmp_path / "orders.db", "orders") == 0
    assert count(tmp_path / "shipping.db", "shipments") == 0
    for db in ("payment.db", "orders.db", "shipping.db"):
        assert count(tmp_path / db, "idempotency") == 0


def test_longest_and_odd_but_valid_order_ids_are_accepted(payment: PaymentService) -> None:
    for order_id in ("x" * 64, "A", "9.a_b-c"):
        assert payment.charge(order_id, 1, f"{order_id}:charge").payment_id == f"pay-{order_id}-1"


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_bad_idempotency_key_is_refused(tmp_path: Path, key) -> None:
    services = open_services(tmp_path)
    with pytest.raises(InvalidIdempotencyKey, match="at most 200 characters"):
        services.payment.charge("o1", 100, key)
    with pytest.raises(InvalidIdempotencyKey):
        services.orders.create_order("o1", 100, key)
    with pytest.raises(InvalidIdempotencyKey):
        services.shipping.create_shipment("o1", key)
    assert count(tmp_path / "payment.db", "ledger") == 0
    assert count(tmp_path / "payment.db", "idempotency") == 0
    assert services.payment.charge("o1", 100, "k" * 200).amount == 100


def test_unknown_payment(payment: PaymentService) -> None:
    with pytest.raises(UnknownPayment, match="pay-nope-1"):
        payment.refund("pay-nope-1", 100, "r")
    with pytest.raises(InvalidRequest):
        payment.refund(None, 100, "r")  # type: ignore[arg-type]
    assert count(payment.db_path, "idempotency") == 0


def test_refund_more_than_what_is_left_is_refused_and_writes_nothing(payment: PaymentService) -> None:
    charged = payment.charge("o1", 1000, "c")
    payment.refund(charged.payment_id, 600, "r1")
    with pytest.raises(RefundExceedsCharge, match="only 400"):
        payment.refund(charged.payment_id, 401, "r2")
    assert count(payment.db_path, "ledger") == 2
    assert count(payment.db_path, "idempotency") == 2
    assert payment.refund(charged.payment_id, 400, "r2").amount == 400


# --- orders -------------------------------------------------------------------------


def test_create_get_and_cancel_an_order(orders: OrderService) -> None:
    created = orders.create_order("o1", 1200, "o1:create")
    assert created == Order("o1", 1200, "ACTIVE")
    assert orders.create_order("o1", 1200, "o1:create") == created
    assert orders.get("o1") == created and orders.order("o1") == created
    assert orders.state("o1") == {"status": "ACTIVE"}

    cancelled = orders.cancel_order("o1", "o1:cancel")
    assert cancelled == Order("o1", 1200, "CANCELLED")
    assert orders.cancel_order("o1", "o1:cancel") == cancelled
    assert orders.cancel_order("o1", "o1:cancel-again") == cancelled
    assert orders.state("o1") == {"status": "CANCELLED"}
    assert orders.all_orders() == [cancelled]
    assert count(orders.db_path, "orders") == 1


def test_unknown_order(orders: OrderService) -> None:
    assert orders.get("nobody") is None
    assert orders.state("nobody") == {"status": None}
    with pytest.raises(UnknownOrder, match="nobody"):
        orders.order("nobody")


def test_cancel_before_create_leaves_a_tombstone_and_cancel_wins(orders: OrderService) -> None:
    tombstone = orders.cancel_order("o1", "o1:cancel")
    assert tombstone == Order("o1", 0, "CANCELLED")
    with pytest.raises(OrderCancelled, match="already cancelled"):
        orders.create_order("o1", 500, "o1:create")
    assert orders.all_orders() == [tombstone]
    assert count(orders.db_path, "idempotency") == 1


def test_recreating_an_order_under_another_key(orders: OrderService) -> None:
    created = orders.create_order("o1", 100, "first")
    assert orders.create_order("o1", 100, "second") == created
    with pytest.raises(IdempotencyConflict, match="already exists with amount 100"):
        orders.create_order("o1", 200, "third")
    with pytest.raises(IdempotencyConflict):
        orders.create_order("o1", 200, "first")
    with pytest.raises(InvalidAmount):
        orders.create_order("o2", 0, "fourth")
    assert orders.all_orders() == [created]
    assert count(orders.db_path, "idempotency") == 2


# --- shipping -----------------------------------------------------------------------


def test_create_and_cancel_shipments(shipping: ShippingService) -> None:
    first = shipping.create_shipment("o1", "o1:ship")
    assert first == Shipment("shp-o1-1", "o1", "CREATED")
    assert shipping.create_shipment("o1", "o1:ship") == first
    second = shipping.create_shipment("o1", "o1:ship-again")
    assert second.shipment_id == "shp-o1-2"
    assert shipping.state("o1") == {"status": "CREATED"}

    cancelled = shipping.cancel_shipment("o1", "o1:unship")
    assert cancelled == Shipment("shp-o1-2", "o1", "CANCELLED")
    assert shipping.cancel_shipment("o1", "o1:unship") == cancelled
    assert [s.status for s in shipping.shipments("o1")] == ["CANCELLED", "CANCELLED"]
    assert shipping.state("o1") == {"status": "CANCELLED"}
    assert len(shipping.all_shipments()) == 2


def test_cancel_without_shipment_returns_none(shipping: ShippingService) -> None:
    assert shipping.state("o1") == {"status": None}
    assert shipping.cancel_shipment("o1", "o1:unship") is None
    assert shipping.cancel_shipment("o1", "o1:unship") is None
    assert shipping.shipments("o1") == [] and shipping.all_shipments() == []
    assert count(shipping.db_path, "idempotency") == 1


# --- opening, sharing files ---------------------------------------------------------


def test_open_services_under_a_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = open_services(tmp_path / "nested" / "home")
    assert isinstance(services, Services)
    assert services.payment.db_path == tmp_path / "nested" / "home" / "payment.db"
    assert services.orders.db_path.name == "orders.db" and services.shipping.db_path.name == "shipping.db"
    assert all(services.payment.db_path.parent.joinpath(n).exists() for n in ("payment.db", "orders.db", "shipping.db"))
    with pytest.raises(AttributeError):
        services.payment = services.payment  # type: ignore[misc]

    monkeypatch.setenv("SAGA_LAB_HOME", str(tmp_path / "env-home"))
    assert open_services().payment.db_path == tmp_path / "env-home" / "payment.db"
    assert PaymentService.open().db_path == tmp_path / "env-home" / "payment.db"


def test_two_service_objects_on_one_file_see_each_others_writes(tmp_path: Path) -> None:
    one, two = open_services(tmp_path), open_services(tmp_path)
    charged = one.payment.charge("o1", 1000, "c")
    assert two.payment.payments("o1") == [charged]
    assert two.payment.charge("o1", 1000, "c") == charged
    two.orders.create_order("o1", 1000, "o")
    assert one.orders.state("o1") == {"status": "ACTIVE"}
    one.shipping.create_shipment("o1", "s")
    assert two.shipping.state("o1") == {"status": "CREATED"}
    assert count(tmp_path / "payment.db", "ledger") == 1


def test_journal_is_wal(payment: PaymentService) -> None:
    with closing(sqlite3.connect(payment.db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# --- the idempotency mechanism itself -----------------------------------------------


def test_a_failing_mutation_rolls_everything_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db", "CREATE TABLE IF NOT EXISTS things (name TEXT);")

    def half_done(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO things (name) VALUES (?)", ("half",))
        raise PaymentDeclined("declined")

    with pytest.raises(PaymentDeclined):
        store.mutate("put", "k", {"name": "half"}, half_done)
    assert count(store.path, "things") == 0 and count(store.path, "idempotency") == 0
    assert store.mutate("put", "k", {"b": 1, "a": 2}, lambda conn: {"ok": True}) == {"ok": True}
    assert store.mutate("put", "k", {"a": 2, "b": 1}, lambda conn: pytest.fail("ran twice")) == {"ok": True}


# --- SQL injection ------------------------------------------------------------------


def test_sql_is_parameterized(payment: PaymentService) -> None:
    with pytest.raises(InvalidOrderId):
        payment.charge("o1'; DROP TABLE ledger; --", 100, "k")
    key = "'; DROP TABLE ledger; --"
    charged = payment.charge("o1", 100, key)
    assert payment.charge("o1", 100, key) == charged
    with closing(sqlite3.connect(payment.db_path)) as conn:
        assert conn.execute("SELECT key FROM idempotency").fetchall() == [(key,)]
    assert count(payment.db_path, "ledger") == 1
    assert payment.refund_order("o1", key + " refund") == 100
    with pytest.raises(UnknownPayment):
        payment.refund("x' OR '1'='1", 1, "r")


# --- concurrency --------------------------------------------------------------------


def test_threads_charging_with_one_key_charge_once(payment: PaymentService) -> None:
    start = threading.Barrier(8)
    results: list[Payment] = []

    def charge() -> None:
        start.wait()
        results.append(payment.charge("o1", 1000, "o1:charge"))

    threads = [threading.Thread(target=charge) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert count(payment.db_path, "ledger") == 1


def test_threads_with_distinct_keys_get_distinct_payment_numbers(tmp_path: Path) -> None:
    start = threading.Barrier(8)
    ids: list[str] = []

    def charge(n: int) -> None:
        service = PaymentService(tmp_path / "payment.db")
        start.wait()
        ids.append(service.charge("o1", 10, f"o1:charge-{n}").payment_id)

    threads = [threading.Thread(target=charge, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == sorted(f"pay-o1-{n}" for n in range(1, 9))


def _charge_in_process(db_path: str, results) -> None:
    results.put(PaymentService(Path(db_path)).charge("o1", 1000, "o1:charge").to_dict())


def test_processes_charging_with_one_key_charge_once(tmp_path: Path) -> None:
    """Both processes also create the same fresh file, the race a first worker start meets."""
    db_path = tmp_path / "fresh" / "payment.db"
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    workers = [spawn.Process(target=_charge_in_process, args=(str(db_path), results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert answers[0] == answers[1] == {"payment_id": "pay-o1-1", "order_id": "o1", "amount": 1000, "refunded": 0}
    assert count(db_path, "ledger") == 1
