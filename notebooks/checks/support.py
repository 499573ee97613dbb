"""What every exercise check shares, in one place.

A check file reads as its cases and what each verdict means; the rest is here:

- :func:`load`: the learner's module (``exercises/``, or ``solutions/`` with
  ``SAGA_LAB_SOLUTIONS=1``), imported afresh, with the names the check needs;
- :class:`NotYet`: raised anywhere in a check, it ends the check with its one line;
- :func:`quiet_client` and :func:`quiet`: the injected faults fail attempts on purpose,
  so the SDK's own log lines (one per failed attempt, a traceback per failed workflow
  task) are silent while a check runs: the verdict says what matters, once;
- :func:`kernel_worker`: a worker in this kernel for the learner's code, with an
  ``activity_executor`` so a plain ``def`` activity works as well as an ``async def``;
- :func:`finish`: waits for a run, bounded, and returns its :class:`~saga_lab.history.RunFacts`;
  a workflow task that fails (a bug in the learner's code, a non-deterministic call) ends
  the check at once with its one meaningful line; a run still open at the bound is
  stopped, and what it was waiting for is said;
- :func:`judge`: runs a check's body and prints PASS or NOT YET through
  :func:`~saga_lab.verdicts.record`, so ``saga-lab exercises`` shows where the learner is;
  a lab whose server was stopped (the notebook's clean-up cell) is said in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import re
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker

from saga_lab import connection, history, verdicts
from saga_lab.checkout import terminate_if_running
from saga_lab.failures import failure_message
from saga_lab.faults import FaultInjector
from saga_lab.history import RunFacts
from saga_lab.services import Services, open_services
from saga_lab.worker import service_activities

#: How to start the lab again, said when a check finds it stopped.
RESTART = "run the notebook's first code cell again (`lab = await Lab.start()`), then this cell"
#: The SDK loggers that report each failed activity attempt and workflow task, and the core's.
NOISY = ("temporalio.worker", "temporalio.activity", "temporalio.workflow", connection.CORE_LOGGER.name)

_executor: ThreadPoolExecutor | None = None


class NotYet(Exception):
    """The check's verdict is NOT YET, for the reason in this one line; raise it anywhere in a check."""


class LabStopped(Exception):
    """Raised in a notebook cell that needs the lab after the clean-up cell stopped it: shown as its one line."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [f"{type(self).__name__}: {self}"]


# ---------------------------------------------------------------- the learner's file


def package() -> str:
    """``solutions`` in the test suite's solved pass (``SAGA_LAB_SOLUTIONS=1``), else ``exercises``."""
    return "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"


def source(name: str) -> str:
    """Where the learner's module is, as the notebook links it: ``exercises/e05_plain_saga.py``."""
    return f"{package()}/{name}.py"


def practice(name: str) -> ModuleType:
    """The module ``exercises/<name>.py`` as it is on disk now (``solutions/<name>.py`` in the solved pass)."""
    qualified = f"{package()}.{name}"
    if qualified in sys.modules:
        return importlib.reload(sys.modules[qualified])
    return importlib.import_module(qualified)


def load(name: str, *names: str, module: ModuleType | None = None) -> ModuleType:
    """``module``, or the learner's module ``name`` imported afresh; NotYet if it does not import or lacks ``names``."""
    if module is None:
        try:
            module = practice(name)
        except Exception as err:  # a syntax error, a name error at import, a class the SDK refuses
            line = f" (line {err.lineno})" if isinstance(err, SyntaxError) and err.lineno else ""
            raise NotYet(f"{source(name)} does not import: {type(err).__name__}: {err}{line}") from None
    missing = [attribute for attribute in names if not hasattr(module, attribute)]
    if missing:
        raise NotYet(f"{source(name)} has no {', '.join(missing)}: keep the names the file started with")
    return module


def fresh_id(exercise: str) -> str:
    """An id for one run of a check (``ex05-3f2a9c``): every rerun starts fresh work."""
    return f"{exercise}-{uuid.uuid4().hex[:6]}"


def queue_name(client: Client, run: str) -> str:
    """A task queue of the check's own for ``run`` (``ex05-3f2a9c``), behind the learner's prefix on a shared server."""
    return connection.task_queue(client, run)


# ---------------------------------------------------------------- quiet while a check runs


@contextlib.contextmanager
def quiet(*names: str) -> Iterator[None]:
    """The SDK loggers ``names`` (default :data:`NOISY`) silent while the block runs."""
    loggers = [logging.getLogger(name) for name in names or NOISY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


async def quiet_client(client: Client) -> Client:
    """A second connection to ``client``'s server whose SDK core logs errors only (its workers fail on purpose)."""
    config = client.service_client.config
    return await Client.connect(
        config.target_host,
        namespace=client.namespace,
        api_key=config.api_key,
        tls=config.tls,
        rpc_metadata=config.rpc_metadata,
        data_converter=client.data_converter,
        runtime=connection.quiet_runtime(),
    )


async def server_answers(client: Client) -> bool:
    """Whether ``client``'s server answers within 2 s (no retries: a stopped lab is said at once)."""
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), retry=False, timeout=timedelta(seconds=2))
    except Exception:
        return False
    return True


def lab_is_up(lab: Any) -> None:
    """For a cell that runs workflows on the lab's own workers: one line (not a hang) once the lab is stopped."""
    workers = getattr(lab, "workers", None)
    if workers is None or not workers.running:
        raise LabStopped(f"the lab's workers were stopped by the Clean up cell: {RESTART}")


# ---------------------------------------------------------------- workers in this kernel


def executor() -> ThreadPoolExecutor:
    """The threads that run plain ``def`` activities of every check's workers."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=32, thread_name_prefix="check-activity")
    return _executor


@contextlib.asynccontextmanager
async def kernel_worker(
    client: Client, task_queue: str, *, workflows: Sequence[type] = (), activities: Sequence[Callable] = (), **options
) -> AsyncIterator[Worker]:
    """A worker polling ``task_queue`` while the block runs; NotYet when it refuses the learner's code.

    On the way out it stops at once: attempts still running are cancelled and awaited,
    so nothing of the check runs on after its verdict.
    """
    try:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=list(workflows),
            activities=list(activities),
            activity_executor=executor(),
            graceful_shutdown_timeout=timedelta(seconds=0),
            **options,
        )
    except Exception as err:  # TypeError / ValueError for a missing decorator, the sandbox's refusals
        raise NotYet(f"the worker refuses your code: {err}") from None
    async with worker:
        yield worker


@contextlib.asynccontextmanager
async def kernel_workers(client: Client, per_queue: dict[str, dict[str, Any]]) -> AsyncIterator[None]:
    """One :func:`kernel_worker` per task queue (``{queue: {"workflows": [...], "activities": [...]}}``)."""
    async with contextlib.AsyncExitStack() as stack:
        for queue, parts in per_queue.items():
            await stack.enter_async_context(kernel_worker(client, queue, **parts))
        yield


@contextlib.contextmanager
def private_services() -> Iterator[tuple[Path, Services]]:
    """The three services on databases of the check's own, in a temporary folder removed afterwards."""
    home = Path(tempfile.mkdtemp(prefix="saga-lab-check-"))
    try:
        yield home, open_services(home)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def all_service_activities(stores: Services, faults: FaultInjector | None = None) -> list[Callable]:
    """The six activities of the three services (steps and undos) over ``stores``."""
    faults = faults or FaultInjector()
    return [fn for name in ("payment", "order", "shipping") for fn in service_activities(name, stores, faults)]


# ---------------------------------------------------------------- waiting for a run, bounded

_FRAME = re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)')
#: Frames of these files are the SDK's, the lab's or the check's: the learner's line is elsewhere.
_NOT_THE_LEARNERS = ("site-packages", "/saga_lab/", "notebooks/checks/", "notebooks/demos/", "<")


def task_failure_line(event: history.Event) -> str:
    """A failed workflow task in one line: what the code raised, and where in the learner's file."""
    message = event.reason or event.failure or "the workflow task failed"
    refused, _, _ = message.partition(" If this is code from a module")
    if refused != message or "Cannot access" in message:
        return (
            "your workflow made a call the sandbox refuses, because its answer could differ on replay "
            f"(a non-deterministic call): {refused.strip()}"
        )
    frames = [m for m in _FRAME.finditer(event.stack) if not any(part in m["path"] for part in _NOT_THE_LEARNERS)]
    where = ""
    if frames:
        path = Path(frames[-1]["path"])
        where = f" ({path.parent.name}/{path.name}, line {frames[-1]['line']})"
    kind = f"{event.failure_type}: " if event.failure_type and event.failure_type not in message else ""
    return (
        f"your workflow's code raised {kind}{message}{where}; the worker retries the workflow task until the "
        "code is fixed, so the run cannot go on"
    )


async def _waiting_for(handle: WorkflowHandle, facts: RunFacts) -> str:
    """What an open run waits for, in the learner's terms."""
    description = await handle.describe()
    task = description.raw_description.pending_workflow_task
    if description.raw_description.HasField("pending_workflow_task") and not task.HasField("started_time"):
        return f"a worker to take its workflow task: no worker polls the task queue {description.task_queue!r}"
    for activity in description.raw_description.pending_activities:
        name = activity.activity_type.name
        if activity.attempt > 1 and activity.HasField("last_failure"):
            return (
                f"`{name}` failed on every attempt so far ({activity.attempt - 1}) and Temporal keeps retrying it: "
                f"{failure_message(activity.last_failure)}"
            )
        if not activity.HasField("last_started_time"):
            polled = next((run.task_queue for run in facts.activities if run.name == name), "?")
            return f"`{name}`, scheduled on the task queue {polled!r}, where no worker has picked it up"
        return f"`{name}` to finish its attempt {activity.attempt}"
    if facts.pending_timers:
        return f"a timer of {facts.pending_timers[-1]:g} s"
    if not facts.activities:
        return "something that never came (no activity was scheduled, no timer started)"
    return "something after its last activity (no activity is pending, no timer started)"


async def _retried_too_often(handle: WorkflowHandle, attempts: int) -> bool:
    pending = (await handle.describe()).raw_description.pending_activities
    return any(activity.attempt > attempts and activity.HasField("last_failure") for activity in pending)


async def finish(
    handle: WorkflowHandle, within_s: float, what: str = "your run", *, failed_attempts: int | None = None
) -> RunFacts:
    """Wait up to ``within_s`` for the run to close and return its facts.

    A failed workflow task raises NotYet at once with its line. A run still open at
    the bound (or, with ``failed_attempts``, as soon as an activity has failed more
    attempts than that) is terminated, and its facts come back with ``status`` RUNNING
    and ``waiting_for`` saying what it waited for.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        facts = history.facts(await handle.fetch_history())
        if facts.surely_broken or (facts.task_failures and loop.time() >= deadline):  # a deadlock: one more try
            await terminate_if_running(handle, "the exercise check stopped this run: its workflow task failed")
            raise NotYet(f"{what}: {task_failure_line(facts.task_failures[-1])}")
        if facts.status != "RUNNING":
            return facts
        retried = failed_attempts is not None and await _retried_too_often(handle, failed_attempts)
        if retried or loop.time() >= deadline:
            facts.waiting_for = await _waiting_for(handle, facts)
            await terminate_if_running(handle, f"the exercise check stopped this run after {within_s:g} s")
            return facts
        await asyncio.sleep(0.2)


def refused_again(run: history.ActivityRun | None) -> bool:
    """A service's business "no" (a declined card) was tried again: an attempt followed one it refused.

    More attempts alone do not say it: on a busy machine an attempt can time out before it
    reaches the service, and the next one is refused once, as it should be.
    """
    return bool(run and run.attempts > 1 and run.retried_after_type in history.NON_RETRYABLE_ERROR_TYPES)


def still_open(facts: RunFacts, within_s: float, what: str = "your run") -> str:
    """The NOT YET line for a run :func:`finish` found open at its bound."""
    return f"{what} had not ended after {within_s:g} s: it was waiting for {facts.waiting_for}"


# ---------------------------------------------------------------- the verdict


def verdict(exercise: str, problem: str | None, passed: str | Callable[[], str]) -> bool:
    """Print ``PASS: passed`` or ``NOT YET: problem`` (one line), keep it as the exercise's last verdict.

    ``passed`` may be a function that says what the run showed, called only on PASS.
    """
    line = f"PASS: {passed() if callable(passed) else passed}" if problem is None else f"NOT YET: {problem}"
    print(line)
    verdicts.record(exercise, problem is None, line)
    return problem is None


async def judge(
    exercise: str,
    passed: str | Callable[[], str],
    body: Callable[[], Awaitable[str | None]],
    client: Client | None = None,
) -> bool:
    """Run a check's ``body`` (None: every case held; a str, or NotYet raised: what is wrong) and print its verdict.

    With ``client``, a lab whose server no longer answers is said in one line first.
    """
    if client is not None and not await server_answers(client):
        address = client.service_client.config.target_host
        problem: str | None = f"the Temporal server at {address} does not answer: the lab was stopped: {RESTART}"
    else:
        try:
            with quiet():
                problem = await body()
        except NotYet as not_yet:
            problem = str(not_yet)
    return verdict(exercise, problem, passed)
