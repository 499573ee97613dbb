"""Check for exercise 01: your own hello world (``exercises/e01_hello.py``).

It starts a worker for your module on a task queue of its own, runs
``WeekdayGreetingWorkflow`` for two names, and reads each run's history: did the
worker accept the code, did the run finish, was the text right, did an activity make
it, and does the history replay. It says the first thing that is wrong.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from types import ModuleType

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer, Worker

from saga_lab import history
from saga_lab.checkout import terminate_if_running
from saga_lab.connection import reconnect, task_queue, workflow_id
from saga_lab.failures import root_message
from saga_lab.notebook import check as verdict

from . import fresh_id, practice

MODULE = "e01_hello"
WORKFLOW = "WeekdayGreetingWorkflow"
ACTIVITY = "compose_weekday_greeting"
#: Two names, so a greeting cannot be written into the code.
NAMES = ("Ada", "Grace")
#: How long one run may take before the check says it is stuck.
RUN_TIMEOUT_S = 10.0

#: The SDK loggers that report a failing workflow task or activity attempt: the check
#: says the same in its one line, so they are quiet while it runs.
_NOISY = ("temporalio.worker", "temporalio.activity")
_quiet_runtime: Runtime | None = None


def _file() -> str:
    package = "solutions" if os.environ.get("SAGA_LAB_SOLUTIONS") == "1" else "exercises"
    return f"{package}/{MODULE}.py"


def quiet_runtime() -> Runtime:
    """An SDK runtime whose core logs errors only: a failing task is expected here, and said once."""
    global _quiet_runtime
    if _quiet_runtime is None:
        filters = TelemetryFilter(core_level="ERROR", other_level="ERROR")
        _quiet_runtime = Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=filters)))
    return _quiet_runtime


@contextmanager
def quiet_sdk_logs(*names: str) -> Iterator[None]:
    """The SDK loggers ``names`` (default: the worker's and the activities') quiet while the check runs."""
    loggers = [logging.getLogger(name) for name in names or _NOISY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


async def quiet_client(client: Client) -> Client:
    """A second connection to ``client``'s server, on the quiet runtime."""
    return await reconnect(client, quiet_runtime())


def workflow_task_failure(message: str) -> str:
    """A failed workflow task in one line: the sandbox's refusals are named for what they are."""
    refused, _, _ = message.partition(" If this is code from a module")
    if refused != message:
        return (
            "the workflow made a call the sandbox refuses, because its answer could differ on replay "
            f"(a non-deterministic call): {refused}"
        )
    return f"the workflow's code raised an error in the worker, so the run cannot go on: {message}"


async def wait_for_end(
    handle: WorkflowHandle, timeout_s: float = RUN_TIMEOUT_S, failed_attempts: int = 1
) -> str | None:
    """Wait for the run to close; None, or what keeps it from closing.

    That is a failing workflow task, an activity that has failed more than
    ``failed_attempts`` times and is retried again, or ``timeout_s`` passing.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        description = await handle.describe()
        if description.status != Status.RUNNING:
            return None
        for event in history.events(await handle.fetch_history()):
            if event.kind == "WorkflowTaskFailed":
                return workflow_task_failure(event.failure or event.reason)
        for pending in description.raw_description.pending_activities:
            if pending.attempt > failed_attempts and pending.HasField("last_failure"):
                return (
                    f"the activity {pending.activity_type.name} raised an error on every attempt so far "
                    f"({pending.attempt - 1}), and Temporal keeps retrying it: {pending.last_failure.message}"
                )
        if loop.time() > deadline:
            return f"the run did not finish within {timeout_s:g} s and nothing failed: what is it waiting for?"
        await asyncio.sleep(0.2)


async def _problem_of_run(handle: WorkflowHandle, name: str, workflow_class: type) -> str | None:
    stuck = await wait_for_end(handle)
    if stuck:
        return stuck
    try:
        result = await handle.result()
    except WorkflowFailureError as failure:
        return f"run({name!r}) failed: {root_message(failure)}"
    run = await handle.fetch_history()
    records = history.events(run)
    times = [e.time for e in records if e.kind in ("WorkflowExecutionStarted", "WorkflowTaskStarted")]
    weekdays = {t.astimezone(UTC).strftime("%A") for t in times} | {t.astimezone().strftime("%A") for t in times}
    expected = f"Hello, {name}! Happy {times[0].astimezone(UTC).strftime('%A')}."
    if result not in {f"Hello, {name}! Happy {day}." for day in weekdays}:
        return f"run({name!r}) returned {result!r}; the exercise asks for {expected!r}"
    if not any(r.name == ACTIVITY and r.outcome == "completed" for r in history.activity_runs(records)):
        return (
            f"run({name!r}) returned the right text, but the history holds no completed activity "
            f"{ACTIVITY}: the text must come from the activity"
        )
    replay = await Replayer(workflows=[workflow_class], runtime=quiet_runtime()).replay_workflow(
        run, raise_on_replay_failure=False
    )
    if replay.replay_failure is not None:
        return f"replaying the run's history gave other decisions than the run: {root_message(replay.replay_failure)}"
    return None


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    """What is wrong with the module's hello world, or None when it works."""
    if module is None:
        try:
            module = practice(MODULE)
        except Exception as err:  # a syntax error, a workflow class the SDK refuses at import
            return f"{_file()} does not import: {type(err).__name__}: {err}"
    workflow_class = getattr(module, WORKFLOW, None)
    activity_function = getattr(module, ACTIVITY, None)
    if workflow_class is None or activity_function is None:
        missing = WORKFLOW if workflow_class is None else ACTIVITY
        return f"{_file()} has no {missing}: keep the names the file started with"
    quiet = await quiet_client(client)
    queue = task_queue(quiet, fresh_id("ex01-queue"))
    try:
        worker = Worker(quiet, task_queue=queue, workflows=[workflow_class], activities=[activity_function])
    except (TypeError, ValueError) as err:
        return f"the worker refuses your code: {err}"
    handles: list[WorkflowHandle] = []
    with quiet_sdk_logs():
        async with worker:
            try:
                for name in NAMES:
                    handles.append(
                        await quiet.start_workflow(
                            WORKFLOW, name, id=workflow_id(quiet, fresh_id("ex01")), task_queue=queue
                        )
                    )
                for handle, name in zip(handles, NAMES):
                    found = await _problem_of_run(handle, name, workflow_class)
                    if found:
                        return found
            finally:
                for handle in handles:
                    await terminate_if_running(handle, "the exercise check is done with this run")
    return None


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run your hello world for real and print PASS, or NOT YET and what is wrong."""
    found = await problem(client, module)
    return verdict(
        found is None,
        f"{WORKFLOW} greets by name and weekday, the text comes from an activity, and its history replays.",
        found or "",
    )
