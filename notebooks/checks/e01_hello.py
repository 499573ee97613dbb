"""Check for exercise 01: your own hello world (``exercises/e01_hello.py``).

It starts a worker for your module on a task queue of its own and runs
``WeekdayGreetingWorkflow`` for two names on the lab's server, then once more on a
time-skipping server whose clock it moved 3 days ahead, so a weekday that is not the
run's (typed in, or read from the real clock) shows. Each run's history says whether the
run finished, whether the text is right, whether the activity made it, and whether the
history replays.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from types import ModuleType

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from saga_lab import connection, server
from saga_lab.failures import root_message
from saga_lab.history import RunFacts

from . import support

MODULE = "e01_hello"
WORKFLOW = "WeekdayGreetingWorkflow"
ACTIVITY = "compose_weekday_greeting"
#: Two names, so a greeting cannot be written into the code.
NAMES = ("Ada", "Grace")
#: The time-skipping server's clock is moved this far ahead: another weekday than today's.
DAYS_AHEAD = 3
RUN_S = 10.0
PASSED = (
    f"{WORKFLOW} greets by name and by the weekday its run started on, the text comes from the activity, "
    "and its history replays."
)


def _problem_of(facts: RunFacts, name: str, moved: bool = False) -> str | None:
    """What one finished run shows wrong, or None."""
    run = f"run({name!r})" + (f" on a server whose clock is {DAYS_AHEAD} days ahead" if moved else "")
    if facts.status == "RUNNING":
        return support.still_open(facts, RUN_S, run)
    if facts.status != "COMPLETED":
        return f"{run} ended {facts.status}: {facts.failure}"
    started = facts.started_at.astimezone(UTC).strftime("%A")
    expected = f"Hello, {name}! Happy {started}."
    if facts.result != expected:
        if isinstance(facts.result, str) and name in facts.result and started not in facts.result:
            return f"{run} started on a {started} (UTC), but it returned {facts.result!r}: whose weekday is that?"
        return f"{run} returned {facts.result!r}; the exercise asks for {expected!r}"
    made = [a for a in facts.of(ACTIVITY) if a.outcome == "completed"]
    if not made:
        return f"{run} returned the right text, but its history holds no completed activity {ACTIVITY}"
    if made[-1].result != facts.result:
        return (
            f"{run} returned {facts.result!r}, but the activity {ACTIVITY} returned {made[-1].result!r}: "
            "the text must come from the activity"
        )
    return None


async def _run(client: Client, module: ModuleType, run: str, names: tuple[str, ...], moved: bool = False):
    """Run the workflow for ``names`` on ``client``'s server; the first problem, or None."""
    queue = support.queue_name(client, run)
    workflow_class = getattr(module, WORKFLOW)
    async with support.kernel_worker(client, queue, workflows=[workflow_class], activities=[getattr(module, ACTIVITY)]):
        for name in names:
            handle = await client.start_workflow(
                WORKFLOW, name, id=connection.workflow_id(client, f"{run}-{name.lower()}"), task_queue=queue
            )
            facts = await support.finish(handle, RUN_S, f"run({name!r})", failed_attempts=2)
            found = _problem_of(facts, name, moved)
            if found:
                return found
            replay = await Replayer(workflows=[workflow_class], runtime=connection.quiet_runtime()).replay_workflow(
                await handle.fetch_history(), raise_on_replay_failure=False
            )
            if replay.replay_failure is not None:
                why = root_message(replay.replay_failure)
                return f"replaying run({name!r}) gave other decisions than the run: {why}"
    return None


async def problem(client: Client, module: ModuleType | None = None) -> str | None:
    """What is wrong with the module's hello world, or None when it works."""
    module = support.load(MODULE, WORKFLOW, ACTIVITY, module=module)
    run = support.fresh_id("ex01")
    found = await _run(await support.quiet_client(client), module, run, NAMES)
    if found:
        return found
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(server.test_server_path()), runtime=connection.quiet_runtime()
    )
    try:
        await env.sleep(timedelta(days=DAYS_AHEAD))
        return await _run(env.client, module, f"{run}-later", NAMES[:1], moved=True)
    finally:
        await env.shutdown()


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run your hello world for real and print PASS, or NOT YET and what is wrong."""
    return await support.judge("e01", PASSED, lambda: problem(client, module), client)
