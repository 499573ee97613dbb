"""Check for exercise 02: an idempotent ``LoyaltyService.award`` (``exercises/e02_loyalty.py``).

It opens your service on a new database file and calls it like a caller that retries:
the same request again after a lost reply, copies of one request at the same moment
(three times), a new key for the same order (a second award), the key reused for
another request, and bad points. No server needed. It says the first thing that is wrong.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

from saga_lab.services import IdempotencyConflict, InvalidRequest

from . import support

MODULE = "e02_loyalty"
CUSTOMER = "ada"
#: Copies of one request sent at the same moment (a retry racing the original), and how many times.
COPIES, ROUNDS = 5, 3
#: Points that are not a whole number from 1 to MAX_POINTS.
BAD_POINTS = (-5, 0, 12.5, True, "40", 10_001)
PASSED = (
    "retries and racing copies award the points once, a new key awards again, a reused key is refused, "
    "bad points leave no trace."
)


def _said(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _retries(service) -> str | None:
    """The same request twice, one after the other, then copies of others at the same moment."""
    first = service.award(CUSTOMER, "order-1", 50, "order-1:award")
    again = service.award(CUSTOMER, "order-1", 50, "order-1:award")
    if service.balance(CUSTOMER) != 50:
        return (
            "a retry (the same request with the same idempotency key, as after a lost reply) awarded the "
            f"points again: the balance is {service.balance(CUSTOMER)} after two calls, not 50"
        )
    if again != first:
        return f"a retry got another answer than the first call: {first!r}, then {again!r}"
    balance = 50
    for round in range(ROUNDS):
        start = threading.Barrier(COPIES)
        key = f"order-2{round}:award"

        def copy(_: int, key: str = key, start: threading.Barrier = start) -> dict:
            start.wait()
            return service.award(CUSTOMER, key.split(":")[0], 10, key)

        with ThreadPoolExecutor(COPIES) as pool:
            answers = list(pool.map(copy, range(COPIES)))
        balance += 10
        if service.balance(CUSTOMER) != balance:
            return (
                f"{COPIES} copies of one request sent at the same moment (a retry racing the original) moved the "
                f"balance from {balance - 10} to {service.balance(CUSTOMER)}, not to {balance}"
            )
        if any(answer != answers[0] for answer in answers):
            return f"{COPIES} copies of one request got different answers: {answers!r}"
    return None


def _new_key(service) -> str | None:
    """A new key for the same customer, order and points: a second, separate award."""
    before = service.balance(CUSTOMER)
    service.award(CUSTOMER, "order-1", 50, "order-1:bonus")
    if service.balance(CUSTOMER) != before + 50:
        return (
            "a new idempotency key ('order-1:bonus') for the same customer, order and points, a second award, "
            f"was answered as a repeat: the balance stayed {service.balance(CUSTOMER)}, not {before + 50}; "
            "what names a request, the key the caller sends or the request's contents?"
        )
    return None


def _conflict(service) -> str | None:
    """The key of order-1's award, reused for another request; then a new key."""
    before = service.balance(CUSTOMER)
    try:
        service.award(CUSTOMER, "order-1", 70, "order-1:award")
    except IdempotencyConflict:
        pass
    except Exception as err:
        return f"the key 'order-1:award' reused for 70 points was refused with {_said(err)}, not IdempotencyConflict"
    else:
        return "the key 'order-1:award', first used for 50 points, was accepted again for 70 points"
    if service.balance(CUSTOMER) != before:
        return f"a refused request changed the balance: it is {service.balance(CUSTOMER)}, not {before}"
    service.award(CUSTOMER, "order-3", 20, "order-3:award")
    if service.balance(CUSTOMER) != before + 20:
        return (
            "a new key (a new request: 20 points for order-3) did not award its points: the balance is "
            f"{service.balance(CUSTOMER)}, not {before + 20}"
        )
    return None


def _bad_points(service) -> str | None:
    """Points that are not a whole number in range: refused in one line, nothing written, the key still free."""
    before = service.balance(CUSTOMER)
    for points in BAD_POINTS:
        try:
            service.award(CUSTOMER, "order-4", points, "order-4:award")
        except InvalidRequest as err:
            if "\n" in str(err) or not str(err).strip():
                return f"{points!r} points were refused, but not in one line: {str(err)!r}"
        except Exception as err:
            return f"{points!r} points were refused with {_said(err)}, not InvalidRequest"
        else:
            return f"{points!r} points were accepted: the balance is now {service.balance(CUSTOMER)}"
        if service.balance(CUSTOMER) != before:
            return f"refusing {points!r} points changed the balance to {service.balance(CUSTOMER)}"
    try:
        service.award(CUSTOMER, "order-4", 40, "order-4:award")
    except Exception as err:
        return (
            "after bad points were refused, the fixed request (40 points) with the same key was refused too: "
            f"{_said(err)}; a refused request must leave no trace, not even its key"
        )
    if service.balance(CUSTOMER) != before + 40:
        return f"the fixed request (40 points) left the balance at {service.balance(CUSTOMER)}, not {before + 40}"
    return None


def problem(module: ModuleType | None = None) -> str | None:
    """What is wrong with the module's ``LoyaltyService.award``, or None when it does all it should."""
    try:
        service_class = support.load(MODULE, "LoyaltyService", module=module).LoyaltyService
    except support.NotYet as not_yet:
        return str(not_yet)
    home = Path(tempfile.mkdtemp(prefix="ex02-"))
    try:
        service = service_class(home / "loyalty.db")
        for step in (_retries, _new_key, _conflict, _bad_points):
            found = step(service)
            if found:
                return found
    except Exception as err:
        return f"a call that should have worked raised {_said(err)}"
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return None


def check(module: ModuleType | None = None) -> bool:
    """Call your service like a retrying caller and print PASS, or NOT YET and what is wrong."""
    return support.verdict("e02", problem(module), PASSED)
