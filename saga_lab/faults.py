"""Fault injection: a plan that travels in the saga's input, and how an activity applies it.

The plan is plain data, so it is recorded in the workflow's history (you can see in
the Web UI which faults a run was given) and replay stays deterministic. Only the
activities act on it, using the attempt number Temporal gives them.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
from dataclasses import dataclass, field

STEPS = ("charge", "create_order", "create_shipment", "refund", "cancel_order")
ACTIONS = ("charge", "create_order", "create_shipment")
COMPENSATIONS = ("refund", "cancel_order")

TRANSIENT = "transient"
PERMANENT = "permanent"
TIMEOUT = "timeout"
KINDS = (TRANSIENT, PERMANENT, TIMEOUT)
#: The worker process is killed (SIGKILL) right after the work: only the chaos runner uses
#: it, with workers in their own processes that it restarts.
CRASH = "crash"
ALL_KINDS = KINDS + (CRASH,)
#: Set in a process started by ``saga-lab worker``: only there may a crash fault kill it.
WORKER_PROCESS_ENV = "SAGA_LAB_WORKER_PROCESS"

#: The type of the retryable error a transient fault raises.
TRANSIENT_ERROR_TYPE = "ServiceUnavailable"

_SPEC = re.compile(r"^(?P<step>[a-z_]+)=(?P<kind>[a-z]+)(?::(?P<times>\d+))?$")
MAX_TIMES = 100


class InvalidFaultSpec(ValueError):
    """A ``STEP=KIND[:N]`` that cannot be understood."""


@dataclass(frozen=True)
class Fault:
    """What goes wrong at one step.

    ``transient``: the first ``times`` attempts fail with a retryable error, then it works.
    ``permanent``: every attempt fails with a business error; nothing is written.
    ``timeout``: the first ``times`` attempts do their work, then run past their
    start-to-close timeout, so Temporal never hears the reply (a lost reply) and retries.
    ``crash``: the first ``times`` attempts do their work, then their worker process dies.
    """

    kind: str
    times: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ALL_KINDS:
            raise InvalidFaultSpec(f"unknown fault kind {self.kind!r}: use one of {', '.join(KINDS)}")
        if not isinstance(self.times, int) or isinstance(self.times, bool) or not 1 <= self.times <= MAX_TIMES:
            raise InvalidFaultSpec(f"a fault's count must be a whole number from 1 to {MAX_TIMES}, got {self.times!r}")

    def __str__(self) -> str:
        return self.kind if self.kind == PERMANENT else f"{self.kind}:{self.times}"


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
    def parse(cls, specs: list[str] | tuple[str, ...]) -> FaultPlan:
        """Read ``STEP=KIND[:N]`` strings, as given to ``saga-lab place --fail``."""
        faults: dict[str, Fault] = {}
        for spec in specs:
            match = _SPEC.match(spec.strip())
            if not match:
                raise InvalidFaultSpec(
                    f"cannot read fault {spec!r}: write STEP=KIND[:N], e.g. create_shipment=permanent"
                )
            step, kind = match["step"], match["kind"]
            if step not in STEPS:
                raise InvalidFaultSpec(f"unknown step {step!r} in {spec!r}: use one of {', '.join(STEPS)}")
            if kind not in KINDS:
                raise InvalidFaultSpec(f"unknown fault kind {kind!r} in {spec!r}: use one of {', '.join(KINDS)}")
            if step in faults:
                raise InvalidFaultSpec(f"step {step!r} is given two faults: give each step at most one")
            faults[step] = Fault(kind, int(match["times"] or 1))
        return cls(faults)

    @classmethod
    def random(
        cls, seed: int, rate: float, steps: tuple[str, ...] = STEPS, max_times: int = 2, kinds: tuple[str, ...] = KINDS
    ) -> FaultPlan:
        """A seeded plan: each step fails with probability ``rate``, with a random kind.

        The same seed gives the same plan, so a chaos run can be repeated exactly.
        """
        if not 0.0 <= rate <= 1.0:
            raise InvalidFaultSpec(f"a fault rate must be from 0 to 1, got {rate}")
        rng = random.Random(seed)
        faults = {}
        for step in steps:
            if rng.random() < rate:
                faults[step] = Fault(rng.choice(kinds), rng.randint(1, max_times))
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
    }
    error_class, reason = business[step]
    return error_class(f"{reason} (injected permanent fault)")


def raise_before_work(step: str, fault: Fault | None, attempt: int) -> None:
    """Apply a fault that strikes before the step does its work (nothing is written)."""
    if fault is None:
        return
    if fault.kind == TRANSIENT and attempt <= fault.times:
        raise transient_error(step, attempt, fault)
    if fault.kind == PERMANENT:
        raise permanent_error(step)


async def lose_reply_after_work(fault: Fault | None, attempt: int, start_to_close_s: float | None) -> None:
    """Apply a timeout or crash fault: the work is done, and Temporal never hears the reply.

    A crash kills this worker process, but only in a process started by ``saga-lab
    worker``; anywhere else (a notebook kernel, ``saga-lab place``) it acts as a timeout.
    """
    if fault is None or fault.kind not in (TIMEOUT, CRASH) or attempt > fault.times:
        return
    if fault.kind == CRASH and os.environ.get(WORKER_PROCESS_ENV) == "1":
        os.kill(os.getpid(), signal.SIGKILL)
    await asyncio.sleep((start_to_close_s or 10.0) + 1.0)
