"""Fault injection: a plan that travels in the saga's input, and how an activity applies it.

The plan is plain data, so it is recorded in the workflow's history (you can see in
the Web UI which faults a run was given) and replay stays deterministic. Only the
activities act on it, through a :class:`FaultInjector`, using the attempt number
Temporal gives them.
"""

import contextlib
import hashlib
import logging
import os
import random
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import STEPS

TRANSIENT = "transient"
PERMANENT = "permanent"
TIMEOUT = "timeout"
SLOW = "slow"
LATE = "late"
#: What ``saga-lab place --fail`` and a :class:`FaultPlan` accept.
KINDS = (TRANSIENT, PERMANENT, TIMEOUT, SLOW, LATE)
#: The worker process is killed (SIGKILL) right after the work: only the chaos runner uses
#: it, with workers in their own processes that it restarts.
CRASH = "crash"
ALL_KINDS = KINDS + (CRASH,)

#: The type of the retryable error a transient fault raises.
TRANSIENT_ERROR_TYPE = "ServiceUnavailable"

#: About when a ``late`` attempt's work lands for the saga's forward steps, from the step's
#: first schedule: their retry policy gives up after 5 attempts of 2 s plus 2.4 s of back-off
#: (12.4 s), and the work lands one step timeout (2 s) later, once the saga has undone the
#: step; later if the attempts started late. An estimate for reports and waits: each attempt
#: computes its own landing from its retry policy (:func:`late_work_lands_at`);
#: ``tests/test_faults.py`` holds this estimate to the saga's policy.
LATE_AFTER_S = 15.0
#: The longest a ``slow`` attempt may sleep.
MAX_SLOW_S = 60.0
#: Where the worker processes of this machine tell each other the latest ``late`` attempt of a
#: step, and when its work lands: workers that share a task queue each get some attempts of a
#: step, and one holding an early attempt must not land it on its own, older estimate (the
#: later attempts may have started late, on a busy machine). One small file per step of a run.
LATE_DIR = Path(tempfile.gettempdir()) / "saga-lab-late-work"

_SPEC = re.compile(r"^(?P<step>[a-z_]+)=(?P<kind>[a-z]+)(?::(?P<n>\d+(?:\.\d+)?))?$")
MAX_TIMES = 100

log = logging.getLogger(__name__)


class InvalidFaultSpec(ValueError):
    """A ``STEP=KIND[:N]`` that cannot be understood."""


@dataclass(frozen=True)
class Fault:
    """What goes wrong at one step.

    ``transient``: the first ``times`` attempts fail with a retryable error, then it works.
    ``permanent``: every attempt fails with a business error; nothing is written.
    ``timeout``: the first ``times`` attempts do their work, then run past their
    start-to-close timeout, so Temporal never hears the reply (a lost reply) and retries.
    ``slow``: every attempt sleeps ``seconds`` first, then works and replies normally.
    Longer than the step's 2 s timeout, every attempt times out *before* its work, and the
    work lands after Temporal gave up on the attempt, as with ``late``.
    ``late``: the first ``times`` attempts hold their work; it lands one step timeout after
    the caller gave up on the step (by its retry policy: :func:`late_work_lands_at`), and the
    reply comes too late.
    ``crash``: the first ``times`` attempts do their work, then their worker process dies.
    """

    kind: str
    times: int = 1
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise InvalidFaultSpec(f"unknown fault kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if not isinstance(self.times, int) or isinstance(self.times, bool) or not 1 <= self.times <= MAX_TIMES:
            raise InvalidFaultSpec(f"a fault's count must be a whole number from 1 to {MAX_TIMES}, got {self.times!r}")
        if self.kind == SLOW and not (
            isinstance(self.seconds, int | float)
            and not isinstance(self.seconds, bool)
            and 0 < self.seconds <= MAX_SLOW_S
        ):
            raise InvalidFaultSpec(
                f"a slow fault sleeps more than 0 and at most {MAX_SLOW_S:g} s, got {self.seconds!r}"
            )

    def __repr__(self) -> str:
        extra = f", seconds={self.seconds:g}" if self.kind == SLOW else f", times={self.times}"
        return f"Fault({self.kind!r}{extra})"

    def __str__(self) -> str:
        if self.kind == PERMANENT:
            return self.kind
        if self.kind == SLOW:
            return f"{self.kind}:{self.seconds:g}"
        return f"{self.kind}:{self.times}"

    @classmethod
    def parse(cls, text: str) -> "Fault":
        """``KIND[:N]``: ``transient:2``, ``permanent``, ``timeout``, ``slow:1.5``, ``late:5``."""
        kind, _, n = text.partition(":")
        if kind not in KINDS:
            raise InvalidFaultSpec(f"unknown fault kind {kind!r} in {text!r}: use one of {', '.join(KINDS)}")
        if kind == SLOW:
            if not n:
                raise InvalidFaultSpec(f"{text!r}: say how long the step is slow, e.g. slow:1.5 (seconds)")
            return cls(SLOW, seconds=float(n))
        if "." in n:
            raise InvalidFaultSpec(f"{text!r}: the count after {kind}: is a whole number of attempts")
        return cls(kind, int(n or 1))


@dataclass(frozen=True)
class FaultPlan:
    """Which step fails how; steps not named run normally."""

    faults: dict[str, Fault] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for step in self.faults:
            if step not in STEPS:
                raise InvalidFaultSpec(f"unknown step {step!r}: use one of {', '.join(STEPS)}")

    def for_step(self, step: str) -> Fault | None:
        return self.faults.get(step)

    def __str__(self) -> str:
        return ", ".join(f"{step}={fault}" for step, fault in self.faults.items()) or "no faults"

    @classmethod
    def parse(cls, specs: list[str] | tuple[str, ...]) -> "FaultPlan":
        """Read ``STEP=KIND[:N]`` strings, as given to ``saga-lab place --fail``."""
        faults: dict[str, Fault] = {}
        for spec in specs:
            match = _SPEC.match(spec.strip())
            if not match:
                raise InvalidFaultSpec(
                    f"cannot read fault {spec!r}: write STEP=KIND[:N], e.g. create_shipment=permanent"
                )
            step = match["step"]
            if step not in STEPS:
                raise InvalidFaultSpec(f"unknown step {step!r} in {spec!r}: use one of {', '.join(STEPS)}")
            if step in faults:
                raise InvalidFaultSpec(f"step {step!r} is given two faults: give each step at most one")
            text = match["kind"] + (f":{match['n']}" if match["n"] else "")
            faults[step] = Fault.parse(text)
        return cls(faults)

    @classmethod
    def random(
        cls, seed: int, rate: float, steps: tuple[str, ...] = STEPS, max_times: int = 2, kinds: tuple[str, ...] = KINDS
    ) -> "FaultPlan":
        """A seeded plan: each step fails with probability ``rate``, with a random kind.

        The same seed gives the same plan, so a chaos run can be repeated exactly. A
        ``slow`` fault sleeps 0.1 to 1 s (less than a step's timeout).
        """
        if not 0.0 <= rate <= 1.0:
            raise InvalidFaultSpec(f"a fault rate must be from 0 to 1, got {rate}")
        rng = random.Random(seed)
        faults = {}
        for step in steps:
            if rng.random() < rate:
                kind = rng.choice(kinds)
                times = rng.randint(1, max_times)
                if kind == SLOW:
                    faults[step] = Fault(SLOW, seconds=round(0.1 * times * rng.randint(1, 5), 1))
                else:
                    faults[step] = Fault(kind, times)
        return cls(faults)


# ---------------------------------------------------------------- the activity side


def transient_error(step: str, attempt: int, fault: Fault):
    from temporalio.exceptions import ApplicationError

    return ApplicationError(
        f"the service is temporarily unavailable (injected fault: attempt {attempt} of the first {fault.times} fails)",
        type=TRANSIENT_ERROR_TYPE,
    )


def permanent_error(step: str):
    """The business failure a real service could answer at ``step``."""
    from .services import errors

    business = {
        "charge": (errors.PaymentDeclined, "the card was declined"),
        "create_order": (errors.OrderRejected, "the order was rejected"),
        "create_shipment": (errors.ShipmentRejected, "the address cannot be shipped to"),
        "refund": (errors.RefundRejected, "the refund was rejected by the bank"),
        "cancel_order": (errors.CancellationRejected, "the order can no longer be cancelled"),
        "cancel_shipment": (errors.CancellationRejected, "the shipment can no longer be cancelled"),
    }
    error_class, reason = business[step]
    return error_class(f"{reason} (injected permanent fault)")


def error_before_work(step: str, fault: Fault | None, attempt: int) -> Exception | None:
    """The error a fault raises before the step does its work (nothing written), if any."""
    if fault is None:
        return None
    if fault.kind == TRANSIENT and attempt <= fault.times:
        return transient_error(step, attempt, fault)
    if fault.kind == PERMANENT:
        return permanent_error(step)
    return None


def late_work_lands_at(
    attempt: int, started: float, timeout: float, policy: Any | None, margin: float | None = None
) -> float:
    """When the work of a ``late`` attempt lands (epoch seconds), from the attempt's retry policy.

    ``attempt`` started at ``started`` with a start-to-close ``timeout``. If every attempt
    after it is late too, the caller gives up on the step when the last one allowed
    (``policy.maximum_attempts``) times out, each after its back-off; the work lands
    ``margin`` (default: one ``timeout``) later, when the caller has had time to undo the
    step. Under an unlimited policy the caller never gives up: the work lands ``margin``
    after this attempt's own timeout.
    """
    margin = timeout if margin is None else margin
    ends = started + timeout
    attempts = getattr(policy, "maximum_attempts", 0) or 0
    if attempts > attempt:
        interval = policy.initial_interval.total_seconds() * policy.backoff_coefficient ** (attempt - 1)
        ceiling = policy.maximum_interval.total_seconds() if policy.maximum_interval else float("inf")
        for _ in range(attempts - attempt):
            ends += min(interval, ceiling) + timeout
            interval *= policy.backoff_coefficient
    return ends + margin


@dataclass
class _LateStep:
    """The latest ``late`` attempt of one step seen in this process: its work lands after the step is given up."""

    attempt: int
    started: float
    timeout: float
    policy: Any
    #: Attempts of the step whose work this process still holds.
    holding: int = 0

    @property
    def lands_at(self) -> float:
        return late_work_lands_at(self.attempt, self.started, self.timeout, self.policy)


class FaultInjector:
    """Applies a step's fault around the step's work, inside a (plain ``def``) activity's thread.

    One per worker process, handed to the activity classes like their services.
    ``crash_kills_process``: a ``crash`` fault SIGKILLs this process (only the chaos
    runner's worker processes allow it); elsewhere it acts as a ``timeout``.
    ``journal``: a file that gets one line when late work is held and one when it lands,
    so a process that reads it later can count late work lost with a killed worker.

    Late work runs on a plain thread that outlives the attempt (as a service call in
    flight outlives a timed-out attempt); :meth:`wait_for_late_work` lets a process
    that is about to exit wait for it to land.
    """

    def __init__(self, *, crash_kills_process: bool = False, journal: Path | None = None) -> None:
        self.crash_kills_process = crash_kills_process
        self.journal = journal
        self._held: set[threading.Thread] = set()
        self._late: dict[tuple[str, str], _LateStep] = {}
        self._lock = threading.Lock()

    def run(self, step: str, fault: Fault | None, work: Callable[..., Any], *args: Any) -> Any:
        """Run ``work(*args)`` as attempt ``activity.info().attempt`` of ``step``, with its fault."""
        from temporalio import activity

        info = activity.info()
        attempt = info.attempt
        error = error_before_work(step, fault, attempt)
        if error is not None:
            raise error
        if fault is not None:
            if fault.kind == SLOW:
                _pause(fault.seconds)
            if fault.kind == LATE and attempt <= fault.times:
                return self._hold(step, info, work, args)
        result = work(*args)
        if fault is not None and fault.kind in (TIMEOUT, CRASH) and attempt <= fault.times:
            if fault.kind == CRASH and self.crash_kills_process:
                os.kill(os.getpid(), signal.SIGKILL)
            _pause(_timeout_s(info) + 1.0)  # the reply is lost: Temporal times the attempt out
        return result

    def _hold(self, step: str, info: Any, work: Callable[..., Any], args: tuple) -> Any:
        """Hold the work on a thread of its own until the step is given up, then land it and reply (too late)."""
        key = (info.workflow_run_id or info.workflow_id or "", info.activity_id)
        with self._lock:  # this attempt is the latest of its step seen here: the step is given up later
            holding = self._late[key].holding if key in self._late else 0
            late = self._late[key] = _LateStep(
                info.attempt, info.started_time.timestamp(), _timeout_s(info), info.retry_policy, holding + 1
            )
        _share_latest(key, late.attempt, late.lands_at)
        order = info.workflow_id
        outcome: dict[str, Any] = {}
        landed = threading.Event()

        def due_in() -> float:
            return self._lands_at(key, late) - time.time()

        def land() -> None:
            began = time.time()
            self._write("held", order, step, info.attempt)
            while (wait := due_in()) > 0:
                time.sleep(min(wait, 0.1))
            try:
                outcome["done"] = work(*args)
            except Exception as err:  # a refusal (compensation won) or a real error: it still has to be said
                outcome["refused"] = err
            how = "done" if "done" in outcome else "refused"
            log.warning(
                "late %s (attempt %d) landed %.1f s after it began: %s",
                step,
                info.attempt,
                time.time() - began,
                how,
                extra={"order_id": order},
            )
            self._write("landed", order, step, info.attempt, how)
            with self._lock:
                self._held.discard(threading.current_thread())
                self._late[key].holding -= 1
                if not self._late[key].holding:
                    del self._late[key]
            if time.time() >= _shared_lands_at(key):  # the step's last late work is due: nobody needs the file
                _unshare(key)
            landed.set()

        thread = threading.Thread(target=land, name=f"late-{step}-{order}", daemon=True)
        with self._lock:
            self._held.add(thread)
        thread.start()
        while not landed.wait(0.1):  # in short waits: a worker shutting down can cancel the attempt
            pass
        if "refused" in outcome:
            raise outcome["refused"]
        return outcome["done"]

    def _lands_at(self, key: tuple[str, str], late: _LateStep) -> float:
        """When this process's held work of a step lands: after the latest attempt seen here or by another process."""
        with self._lock:
            own = self._late.get(key, late).lands_at
        return max(own, _shared_lands_at(key))

    def _write(self, *fields: Any) -> None:
        if self.journal is not None:
            with self._lock, open(self.journal, "a", encoding="utf-8") as journal:
                journal.write(" ".join(str(f) for f in (os.getpid(), *fields)) + "\n")

    @property
    def late_work_in_flight(self) -> int:
        with self._lock:
            return len(self._held)

    def wait_for_late_work(self, timeout_s: float | None = None) -> int:
        """Block until held work has landed (at most ``timeout_s``, default: until the last is due, plus 5 s);
        returns how many are still held."""
        with self._lock:
            threads = list(self._held)
            late_steps = list(self._late.items())
        due = max((self._lands_at(key, late) for key, late in late_steps), default=time.time())
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else max(0.0, due - time.time()) + 5.0)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.late_work_in_flight


def _late_file(key: tuple[str, str]) -> Path:
    return LATE_DIR / hashlib.sha256("\0".join(key).encode()).hexdigest()[:32]


def _shared_lands_at(key: tuple[str, str]) -> float:
    """When the latest ``late`` attempt of the step that any process told of lands; 0 if none did."""
    try:
        _, lands_at = _late_file(key).read_text(encoding="ascii").split()
        return float(lands_at)
    except (OSError, ValueError):  # none yet, or gone: each process still has its own estimate
        return 0.0


def _share_latest(key: tuple[str, str], attempt: int, lands_at: float) -> None:
    """Tell the other processes this attempt of the step, unless one told of a later attempt."""
    path = _late_file(key)
    try:
        LATE_DIR.mkdir(exist_ok=True)
        with contextlib.suppress(OSError, ValueError):
            if int(path.read_text(encoding="ascii").split()[0]) >= attempt:
                return
        draft = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        draft.write_text(f"{attempt} {lands_at!r}", encoding="ascii")
        os.replace(draft, path)  # whole or not at all, for a reader in another process
    except OSError as err:  # best effort: without it, this process lands on its own estimate
        log.warning("could not share when late %s work lands: %s", key[1], err)
    _forget_the_long_landed()


#: A shared landing this long past is nobody's to wait for: every live holder has landed by then.
#: Its file stays only when the process that held the work ended first (a killed worker, a
#: kernel stopped while work was held); the next late attempt on this machine removes it.
LANDED_LONG_AGO_S = 60.0


def _forget_the_long_landed() -> None:
    long_ago = time.time() - LANDED_LONG_AGO_S
    with contextlib.suppress(OSError):
        for path in LATE_DIR.iterdir():
            with contextlib.suppress(OSError, ValueError):
                text = path.read_text(encoding="ascii").split()
                if (float(text[1]) if len(text) == 2 else path.stat().st_mtime) < long_ago:  # or a torn draft
                    path.unlink()


def _unshare(key: tuple[str, str]) -> None:
    with contextlib.suppress(OSError):
        _late_file(key).unlink()


def read_journal(path: Path) -> dict[str, int]:
    """Count a fault journal's late work: ``held``, ``landed``, and ``lost`` (held by a process that died first)."""
    held: set[tuple[str, ...]] = set()
    landed: set[tuple[str, ...]] = set()
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            pid, event, *what = line.split()
            (held if event == "held" else landed).add((pid, *what[:3]))
    return {"held": len(held), "landed": len(landed & held), "lost": len(held - landed)}


def _pause(seconds: float) -> None:
    """Sleep in short steps, so a worker shutting down can cancel the attempt's thread meanwhile."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))


def _timeout_s(info: Any) -> float:
    timeout = info.start_to_close_timeout
    return timeout.total_seconds() if timeout else 10.0
