"""Exercise 09's check: can you ask ``PickingWorkflow`` how far it got, while it runs?

It runs your ``PickingWorkflow`` (``exercises/e09_picking_query.py``) on a worker of its own, in
this kernel, for four items, asks its ``progress`` query every 0.1 s while it runs and once
after it has ended, and holds every answer against the run's history: an item is picked when
its walk to the shelf (a timer) is over, so an answer must count as many items as walks had
ended when it was asked, in the order of the list, and say how many remain. At least one
answer must come from the middle of the run.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError

from saga_lab import history
from saga_lab.checkout import terminate_if_running
from saga_lab.connection import workflow_id

from . import support

MODULE = "e09_picking_query"
NAMES = ("PickingList", "PickingWorkflow")
QUERY = "progress"
ITEMS = ["mug", "teapot", "kettle", "tray"]
SECONDS_PER_ITEM = 0.4
RUN_TIMEOUT_S = 10.0


def problem_with(answer: Any, walked: tuple[int, int]) -> str | None:
    """What is wrong with one answer, asked when ``walked[0]`` to ``walked[1]`` walks were over (None: it is right)."""
    if not isinstance(answer, dict) or not {"picked", "remaining"} <= set(answer):
        return f"the query answered {answer!r}; it should answer a PickingProgress (picked, remaining)"
    picked, remaining = answer["picked"], answer["remaining"]
    if not isinstance(picked, list) or picked != ITEMS[: len(picked)]:
        return f"the query said {picked!r} were picked, but the items are picked in the order {ITEMS}, one by one"
    before, after = walked
    if len(picked) > after:
        return (
            f"the query said {picked!r} were picked when the history showed {after} walk(s) to a shelf over: "
            "it counts an item before it is picked"
        )
    if len(picked) < before:
        return (
            f"the query said {picked!r} were picked when the history showed {before} walk(s) to a shelf over: "
            "its answer is behind the run"
        )
    if remaining != len(ITEMS) - len(picked):
        return f"the query said {len(picked)} picked and {remaining!r} remaining, of {len(ITEMS)} items"
    return None


async def _walks_over(handle: WorkflowHandle) -> int:
    return sum(1 for event in history.events(await handle.fetch_history()) if event.kind == "TimerFired")


async def _ask(handle: WorkflowHandle) -> tuple[Any, tuple[int, int]]:
    """One answer of the query, and how many walks had ended before and after it was asked."""
    before = await _walks_over(handle)
    try:
        answer = await handle.query(QUERY)
    except WorkflowQueryFailedError as err:
        if "not found" in str(err) or "unknown query" in str(err).lower():
            raise support.NotYet(f"PickingWorkflow has no query named {QUERY!r}: {err}") from None
        raise support.NotYet(f"the query {QUERY!r} failed in the worker: {err}") from None
    return answer, (before, await _walks_over(handle))


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run the workflow, query it mid-run and at the end; print PASS or NOT YET (``module``: instead of the file)."""
    middle: list[Any] = []

    async def body() -> str | None:
        learner = support.load(MODULE, *NAMES, module=module)
        queue = support.queue_name(client, support.fresh_id("ex09-picking"))
        order_id = support.fresh_id("ex09")
        async with support.kernel_worker(client, queue, workflows=[learner.PickingWorkflow]):
            handle = await client.start_workflow(
                learner.PickingWorkflow.run,
                learner.PickingList(order_id, list(ITEMS), SECONDS_PER_ITEM),
                id=workflow_id(client, order_id),
                task_queue=queue,
            )
            ended = asyncio.ensure_future(support.finish(handle, RUN_TIMEOUT_S, "PickingWorkflow"))
            answers = []
            try:
                while not ended.done():
                    answers.append(await _ask(handle))
                    await asyncio.sleep(0.1)
                facts = await ended
            finally:
                ended.cancel()
                await terminate_if_running(handle, "exercise 09's check is done with this run")
            if facts.status == "RUNNING":
                return support.still_open(facts, RUN_TIMEOUT_S, "PickingWorkflow")
            if facts.status != "COMPLETED":
                return f"PickingWorkflow ended {facts.status}: {facts.failure}"
            answers.append(await _ask(handle))
        problem = next(filter(None, (problem_with(answer, walked) for answer, walked in answers)), None)
        if problem:
            return problem
        middle.extend(answer for answer, _ in answers if 0 < len(answer["picked"]) < len(ITEMS))
        if not middle:
            return "no answer came from the middle of the run: the query never saw some items picked and some not"
        last = answers[-1][0]
        if last["picked"] != ITEMS:
            return f"after the run the query said {last['picked']!r} were picked, not all of {ITEMS}"
        return None

    return await support.judge(
        "e09",
        lambda: (
            f"asked while the workflow ran, progress answered {middle[0]} (for one), each answer as far as the "
            f"history had got, and after the run, all {len(ITEMS)} items picked."
        ),
        body,
        client,
    )
