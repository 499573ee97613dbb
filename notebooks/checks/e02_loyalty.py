"""Check for exercise 02: an idempotent ``LoyaltyService.award`` (``exercises/e02_loyalty.py``).

It opens your service on a new database file and calls it like a caller that retries:
the same request again after a lost reply, copies of one request at the same moment,
the key reused for another request, a new key, and bad points. It says the first
thing that is wrong.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

from saga_lab.notebook import check as verdict
from saga_lab.services import IdempotencyConflict, InvalidRequest

from . import practice

MODULE = "e02_loyalty"
CUSTOMER = "ada"
#: Copies of one request sent at the same moment (a retry racing the original).
COPIES = 5


def _file() -> str:
    package = "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"
    return f"{package}/{MODULE}.py"


def _said(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def _retries(service) -> str | None:
    """The same request twice, one after the other, then copies of another at the same moment."""
    first = service.award(CUSTOMER, "order-1", 50, "order-1:award")
    again = service.award(CUSTOMER, "order-1", 50, "order-1:award")
    balance = service.balance(CUSTOMER)
    if balance != 50:
        return (
            "a retry (the same request with the same idempotency key, as after a lost reply) awarded the "
            f"points again: the balance is {balance} after two calls, not 50"
        )
    if again != first:
        return f"a retry got another answer than the first call: {first!r}, then {again!r}"
    with ThreadPoolExecutor(COPIES) as pool:
        answers = list(pool.map(lambda _: service.award(CUSTOMER, "order-2", 30, "order-2:award"), range(COPIES)))
    balance = service.balance(CUSTOMER)
    if balance != 80:
        return (
            f"{COPIES} copies of one request sent at the same moment (a retry racing the original) moved the "
            f"balance from 50 to {balance}, not to 80"
        )
    if any(answer != answers[0] for answer in answers):
        return f"{COPIES} copies of one request got different answers: {answers!r}"
    return None


def _conflict(service) -> str | None:
    """The key of order-1's award, reused for another request."""
    try:
        service.award(CUSTOMER, "order-1", 70, "order-1:award")
    except IdempotencyConflict:
        pass
    except Exception as err:
        return f"the key 'order-1:award' reused for 70 points was refused with {_said(err)}, not IdempotencyConflict"
    else:
        return "the key 'order-1:award', first used for 50 points, was accepted again for 70 points"
    if service.balance(CUSTOMER) != 80:
        return f"a refused request changed the balance: it is {service.balance(CUSTOMER)}, not 80"
    service.award(CUSTOMER, "order-3", 20, "order-3:award")
    if service.balance(CUSTOMER) != 100:
        return (
            "a new key (a new request: 20 points for order-3) did not award its points: the balance is "
            f"{service.balance(CUSTOMER)}, not 100"
        )
    return None


def _bad_points(service) -> str | None:
    """Points that are not a whole number in range: refused in one line, nothing written, the key still free."""
    for points in (0, -5, 12.5):
        try:
            service.award(CUSTOMER, "order-4", points, "order-4:award")
        except InvalidRequest as err:
            if "\n" in str(err) or not str(err).strip():
                return f"{points!r} points were refused, but not in one line: {str(err)!r}"
        except Exception as err:
            return f"{points!r} points were refused with {_said(err)}, not InvalidRequest"
        else:
            return f"{points!r} points were accepted: the balance is now {service.balance(CUSTOMER)}"
        if service.balance(CUSTOMER) != 100:
            return f"refusing {points!r} points changed the balance to {service.balance(CUSTOMER)}"
    try:
        service.award(CUSTOMER, "order-4", 40, "order-4:award")
    except Exception as err:
        return (
            "after bad points were refused, the fixed request (40 points) with the same key was refused too: "
            f"{_said(err)}; a refused request must leave no trace, not even its key"
        )
    if service.balance(CUSTOMER) != 140:
        return f"the fixed request (40 points) left the balance at {service.balance(CUSTOMER)}, not 140"
    return None


def problem(module: ModuleType | None = None) -> str | None:
    """What is wrong with the module's ``LoyaltyService.award``, or None when it does all it should."""
    if module is None:
        try:
            module = practice(MODULE)
        except Exception as err:
            return f"{_file()} does not import: {_said(err)}"
    service_class = getattr(module, "LoyaltyService", None)
    if service_class is None:
        return f"{_file()} has no LoyaltyService: keep the names the file started with"
    home = Path(tempfile.mkdtemp(prefix="ex02-"))
    try:
        service = service_class(home / "loyalty.db")
        for step in (_retries, _conflict, _bad_points):
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
    found = problem(module)
    return verdict(
        found is None,
        "retries and racing copies award the points once, a reused key is refused, bad points leave no trace.",
        found or "",
    )
