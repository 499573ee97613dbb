"""Exercise 09's check: can you ask ``PickingWorkflow`` how far it got, while it runs?

It runs your ``PickingWorkflow`` (``exercises/e09_picking_query.py``) on a worker of its own, in
this kernel, for four items, asks its ``progress`` query every 0.1 s while it runs and once
after it has ended, and checks every answer: the items picked so far (in the order of the
list) and how many remain. At least one answer must come from the middle of the run.
"""

from __future__ import annotations

import asyncio
import uuid
from types import ModuleType
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.worker import Worker

from saga_lab.checkout import terminate_if_running
from saga_lab.connection import task_queue, workflow_id

from . import check as verdict
from . import fresh_id, practice

MODULE = "e09_picking_query"
QUERY = "progress"
ITEMS = ["mug", "teapot", "kettle", "tray"]
SECONDS_PER_ITEM = 0.4
RUN_TIMEOUT_S = 10.0


def problem_with(answer: Any) -> str | None:
    """What is wrong with one answer of the query (None: it is a consistent picking progress)."""
    if not isinstance(answer, dict) or not {"picked", "remaining"} <= set(answer):
        return f"the query answered {answer!r}; it should answer a PickingProgress (picked, remaining)"
    picked, remaining = answer["picked"], answer["remaining"]
    if not isinstance(picked, list) or picked != ITEMS[: len(picked)]:
        return f"the query said {picked!r} were picked, but the items are picked in the order {ITEMS}, one by one"
    if remaining != len(ITEMS) - len(picked):
        return f"the query said {len(picked)} picked and {remaining!r} remaining, of {len(ITEMS)} items"
    return None


def _not_found(err: WorkflowQueryFailedError) -> bool:
    return "not found" in str(err) or "unknown query" in str(err).lower()


async def _ask_while_running(client: Client, module: Any, queue: str) -> tuple[list[Any], Any, str | None]:
    """Start the workflow and ask ``progress`` until it ends, then once more; (answers, last answer, problem)."""
    order_id = fresh_id("ex09")
    handle = await client.start_workflow(
        module.PickingWorkflow.run,
        module.PickingList(order_id, list(ITEMS), SECONDS_PER_ITEM),
        id=workflow_id(client, order_id),
        task_queue=queue,
    )
    result = asyncio.ensure_future(handle.result())
    answers = []
    try:
        deadline = asyncio.get_running_loop().time() + RUN_TIMEOUT_S
        while not result.done():
            if asyncio.get_running_loop().time() > deadline:
                if await terminate_if_running(handle, "exercise 09's check: the workflow did not end"):
                    return answers, None, f"the workflow did not end within {RUN_TIMEOUT_S:g} s"
                break  # it ended just now: its result says how
            answers.append(await handle.query(QUERY))
            await asyncio.sleep(0.1)
        await result
        return answers, await handle.query(QUERY), None
    except WorkflowQueryFailedError as err:
        if _not_found(err):
            return answers, None, f"PickingWorkflow has no query named {QUERY!r}: {err}"
        return answers, None, f"the query {QUERY!r} failed in the worker: {err}"
    finally:
        if not result.done():
            result.cancel()


async def check(client: Client, module: ModuleType | None = None) -> bool:
    """Run the workflow, query it mid-run and at the end; print PASS or NOT YET (``module``: instead of the file)."""
    try:
        module = module or practice(MODULE)
    except Exception as err:  # the learner's file does not import: one line, no traceback
        return verdict(False, "", f"exercises/{MODULE}.py does not import: {type(err).__name__}: {err}")
    queue = task_queue(client, f"e09-picking-{uuid.uuid4().hex[:6]}")
    async with Worker(client, task_queue=queue, workflows=[module.PickingWorkflow]):
        answers, last, problem = await _ask_while_running(client, module, queue)
    if problem is None:
        problem = next(filter(None, map(problem_with, [*answers, last])), None)
    if problem is None and not any(0 < len(a["picked"]) < len(ITEMS) for a in answers):
        problem = "no answer came from the middle of the run: the query never saw some items picked and some not"
    if problem is None and last["picked"] != ITEMS:
        problem = f"after the run the query said {last['picked']!r} were picked, not all of {ITEMS}"
    middle = next(a for a in answers if 0 < len(a["picked"]) < len(ITEMS)) if problem is None else None
    return verdict(
        problem is None,
        f"asked while the workflow ran, progress answered {middle} (for one), and after the run, all "
        f"{len(ITEMS)} items picked.",
        problem or "",
    )
