"""Tests for ``saga_lab.saga`` on the real time-skipping test server, and in plain asyncio.

``saga.py`` is a file to copy into a project of your own: these are its tests, and they
check that it stays one (it imports only ``temporalio`` and the standard library) and that
the example its docstring shows, and the README and notebook 05 repeat, runs as it says.

The activities in ``saga_test_workflows`` only append to ``CALLS``, an in-memory
recorder that isolates the Saga from the real services; every test filters it by
its own workflow id. Each test runs its own worker on a unique task queue.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib
import json
import re
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker

from saga_lab import saga as saga_module
from saga_lab import server
from saga_lab.saga import CompensationFailed, CompensationRecord, Saga

try:  # tests/ may or may not become a package
    from . import saga_test_workflows as wf
except ImportError:
    import saga_test_workflows as wf


@pytest.fixture(scope="module")
async def env():
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=str(server.test_server_path()))
    try:
        yield env
    finally:
        await env.shutdown()


#: Real seconds to wait for a result. A workflow raising a non-ApplicationError only
#: fails its *task*, which is retried forever: fail the test instead of hanging.
RESULT_TIMEOUT_S = 15


def _worker(env: WorkflowEnvironment, **options: Any) -> Worker:
    return Worker(
        env.client,
        task_queue=f"saga-{uuid.uuid4()}",
        workflows=wf.WORKFLOWS,
        activities=wf.ACTIVITIES,
        **options,
    )


def _calls(workflow_id: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [c for c in wf.CALLS if c["workflow_id"] == workflow_id and (kind is None or c["kind"] == kind)]


async def _run_plan(env: WorkflowEnvironment, plan: wf.Plan) -> tuple[str, Any]:
    """Run SagaWorkflow; returns (workflow id, result or WorkflowFailureError)."""
    workflow_id = f"saga-{uuid.uuid4()}"
    async with _worker(env) as worker:
        try:
            result = await asyncio.wait_for(
                env.client.execute_workflow(wf.SagaWorkflow.run, plan, id=workflow_id, task_queue=worker.task_queue),
                RESULT_TIMEOUT_S,
            )
        except WorkflowFailureError as err:
            return workflow_id, err
    return workflow_id, result


# ---------------------------------------------------------- forward & rollback


async def test_all_steps_succeed_no_compensation(env):
    workflow_id, result = await _run_plan(env, wf.Plan(steps=3))
    assert result["completed"] == ["step1", "step2", "step3"]
    assert result["failed"] is None
    assert result["compensated"] == [] and result["records"] == []
    assert [c["name"] for c in _calls(workflow_id, "action")] == ["step1", "step2", "step3"]
    assert _calls(workflow_id, "undo") == []


async def test_failed_step_compensates_in_reverse_order(env):
    workflow_id, result = await _run_plan(env, wf.Plan(steps=3, fail_step=3))
    assert result["completed"] == ["step1", "step2"]
    assert result["failed"] == "step3 rejected"
    assert result["compensated"] == ["undo2", "undo1"]
    assert [(r["name"], r["status"]) for r in result["records"]] == [("undo2", "done"), ("undo1", "done")]
    assert [c["name"] for c in _calls(workflow_id, "undo")] == ["undo2", "undo1"]


async def test_parallel_compensation_overlaps(env):
    plan = wf.Plan(steps=4, fail_step=4, parallel=True, undo_sleep_s=0.3)
    workflow_id, result = await _run_plan(env, plan)
    assert sorted(result["compensated"]) == ["undo1", "undo2", "undo3"]
    undos = _calls(workflow_id, "undo")
    assert sorted(c["name"] for c in undos) == ["undo1", "undo2", "undo3"]
    # Every compensation started before any finished: they ran side by side.
    assert max(c["start"] for c in undos) < min(c["end"] for c in undos)


async def test_continue_with_error_attempts_all_and_names_every_failure(env):
    plan = wf.Plan(steps=4, fail_step=4, undo_modes={"undo3": "fail", "undo2": "fail"})
    workflow_id, err = await _run_plan(env, plan)
    assert isinstance(err, WorkflowFailureError)
    cause = err.cause
    assert isinstance(cause, ApplicationError) and cause.type == "CompensationFailed"
    assert cause.non_retryable
    assert "undo3 (undo3: refund service said no)" in cause.message
    assert "undo2 (undo2: refund service said no)" in cause.message
    assert [c["name"] for c in _calls(workflow_id, "undo")] == ["undo3", "undo2", "undo1"]
    assert [(d["name"], d["status"]) for d in cause.details] == [
        ("undo3", "failed"),
        ("undo2", "failed"),
        ("undo1", "done"),
    ]
    # chained from the step failure that triggered the rollback
    assert cause.cause.cause.message == "step4 rejected"


async def test_stop_at_first_failure_skips_the_rest(env):
    plan = wf.Plan(steps=4, fail_step=4, undo_modes={"undo3": "fail", "undo2": "fail"}, continue_with_error=False)
    workflow_id, err = await _run_plan(env, plan)
    assert isinstance(err, WorkflowFailureError)
    cause = err.cause
    assert isinstance(cause, ApplicationError) and cause.type == "CompensationFailed"
    assert "undo3" in cause.message and "skipped: undo2, undo1" in cause.message
    assert [c["name"] for c in _calls(workflow_id, "undo")] == ["undo3"]
    assert [(d["name"], d["status"]) for d in cause.details] == [
        ("undo3", "failed"),
        ("undo2", "skipped"),
        ("undo1", "skipped"),
    ]


async def test_transient_compensation_failure_is_retried(env):
    plan = wf.Plan(steps=3, fail_step=3, undo_modes={"undo2": "transient"})
    workflow_id, result = await _run_plan(env, plan)
    assert result["compensated"] == ["undo2", "undo1"]
    undo2 = [c for c in _calls(workflow_id, "undo") if c["name"] == "undo2"]
    assert [(c["attempt"], c["outcome"]) for c in undo2] == [(1, "failed"), (2, "failed"), (3, "ok")]


async def test_permanent_compensation_failure_fails_the_workflow(env):
    plan = wf.Plan(steps=3, fail_step=3, undo_modes={"undo1": "fail"})
    workflow_id, err = await _run_plan(env, plan)
    assert isinstance(err, WorkflowFailureError)
    assert isinstance(err.cause, ApplicationError)
    assert err.cause.type == "CompensationFailed"
    assert err.cause.message == "1 of 2 compensations failed: undo1 (undo1: refund service said no)"
    # non-retryable: one attempt, and the other compensation still ran first
    assert [c["name"] for c in _calls(workflow_id, "undo")] == ["undo2", "undo1"]
    handle = env.client.get_workflow_handle(workflow_id)
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED


# ----------------------------------------------------------------- cancellation


async def _wait_until(predicate, what: str, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _cancel_while_waiting(
    env: WorkflowEnvironment, workflow_run, *args, **worker_options
) -> tuple[WorkflowHandle, Any, dict]:
    """Start a workflow, cancel it once parked; return (handle, failure, final progress query)."""
    workflow_id = f"saga-cancel-{uuid.uuid4()}"
    async with _worker(env, **worker_options) as worker:
        handle = await env.client.start_workflow(workflow_run, *args, id=workflow_id, task_queue=worker.task_queue)

        async def parked() -> bool:
            if (await handle.query("progress"))["stage"] != "waiting":
                return False
            # when parked on an activity, wait for it to be running
            return args != ("activity",) or bool(_calls(workflow_id, "block"))

        await _wait_until(parked, "the workflow to park")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as info:
            await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
        progress = await handle.query("progress")  # needs the worker
    return handle, info.value, progress


async def _undos_completed_after_cancel_request(handle: WorkflowHandle) -> int:
    events = [e async for e in handle.fetch_history_events()]
    cancel_at = next(
        i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED
    )
    undo_scheduled = {
        e.event_id
        for e in events[cancel_at:]
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "undo_step"
    }
    assert events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED
    return sum(
        1
        for e in events[cancel_at:]
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id in undo_scheduled
    )


@pytest.mark.parametrize(
    "wait, cache",
    [("activity", True), ("timer", True), ("condition", True), ("timer", False)],
    ids=["activity", "timer", "condition", "timer-evicted-every-task"],
)
async def test_cancellation_runs_compensations(env, wait, cache):
    # cache=False evicts the workflow after every task: the SDK then cancels the
    # parked `async with` body on eviction too, which must not run or record anything.
    options = {} if cache else {"max_cached_workflows": 0}
    handle, err, progress = await _cancel_while_waiting(env, wf.CancellableSagaWorkflow.run, wait, **options)
    assert isinstance(err.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert [c["name"] for c in _calls(handle.id, "undo")] == ["undo2", "undo1"]
    assert await _undos_completed_after_cancel_request(handle) == 2
    assert progress == {
        "stage": "waiting",
        "compensation_started": True,
        "compensating": False,
        "compensated": ["undo2", "undo1"],
        "pending": [],
    }
    # the shielded compensation task replays deterministically
    await Replayer(workflows=wf.WORKFLOWS).replay_workflow(await handle.fetch_history())


async def test_naive_except_exception_skips_compensation_on_cancel(env):
    """The pitfall the helper exists for: CancelledError is not an Exception."""
    handle, err, _ = await _cancel_while_waiting(env, wf.NaiveSagaWorkflow.run)
    assert isinstance(err.cause, CancelledError)
    assert (await handle.describe()).status == WorkflowExecutionStatus.CANCELED
    assert [c["name"] for c in _calls(handle.id, "action")] == ["step1", "step2"]
    assert _calls(handle.id, "undo") == []  # refunds never happened
    assert await _undos_completed_after_cancel_request(handle) == 0


# ------------------------------------------------- plain asyncio, no server


async def test_compensate_runs_once_and_reports_progress():
    calls: list[str] = []

    async def undo(name: str) -> None:
        calls.append(name)

    saga = Saga()
    saga.add_compensation("a", undo, "a")
    saga.add_compensation("b", undo, "b")
    assert saga.pending == ["a", "b"] and not saga.compensation_started
    first = await saga.compensate()
    second = await saga.compensate()
    assert calls == ["b", "a"]
    assert first == second == [CompensationRecord("b", "done"), CompensationRecord("a", "done")]
    assert saga.compensated == ["b", "a"] and saga.pending == []
    assert saga.compensation_started and not saga.compensating
    with pytest.raises(RuntimeError):
        saga.add_compensation("c", undo, "c")


async def test_compensation_shielded_from_repeated_cancellation():
    release = asyncio.Event()
    calls: list[str] = []

    async def slow_undo() -> None:
        await release.wait()
        calls.append("undo")

    saga = Saga()
    parked = asyncio.Event()

    async def body() -> None:
        async with saga:
            saga.add_compensation("undo", slow_undo)
            parked.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(body())
    await parked.wait()
    task.cancel()
    await asyncio.sleep(0.01)
    assert saga.compensating
    task.cancel()  # a second cancel must not abandon the rollback half-way
    await asyncio.sleep(0.01)
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == ["undo"] and saga.compensated == ["undo"]


async def test_failure_error_shape():
    async def boom() -> None:
        raise ApplicationError("card service down", non_retryable=True)

    async def ok() -> None:
        pass

    saga = Saga()
    saga.add_compensation("refund", boom)
    saga.add_compensation("cancel_order", ok)
    with pytest.raises(CompensationFailed) as info:
        async with saga:
            raise ApplicationError("ship failed", non_retryable=True)
    err = info.value
    assert isinstance(err, ApplicationError) and err.type == "CompensationFailed" and err.non_retryable
    assert isinstance(err.__cause__, ApplicationError) and err.__cause__.message == "ship failed"
    assert err.message == "1 of 2 compensations failed: refund (card service down)"
    assert err.records == [
        CompensationRecord("cancel_order", "done"),
        CompensationRecord("refund", "failed", "card service down"),
    ]
    assert list(err.details) == [
        {"name": "cancel_order", "status": "done", "error": None},
        {"name": "refund", "status": "failed", "error": "card service down"},
    ]
    # a second call re-raises the same outcome without rerunning
    with pytest.raises(CompensationFailed):
        await saga.compensate()
    assert saga.compensated == ["cancel_order"]


# ------------------------------------------------- failures, never bugs


class _Withdrawn(Exception):
    """A workflow's own business exception, declared with ``compensate_on``."""


ENDS_A_RUN = {
    "ApplicationError": ApplicationError("refused", non_retryable=True),
    "temporal CancelledError": CancelledError("cancelled"),
    "asyncio.CancelledError": asyncio.CancelledError(),
    "TimeoutError": TimeoutError("wait_condition timed out"),
    "declared": _Withdrawn("the customer withdrew the order"),
}
BUGS = {"TypeError": TypeError("can only concatenate str (not 'int') to str"), "NameError": NameError("x")}


@pytest.mark.parametrize("raised", [*ENDS_A_RUN.values(), *BUGS.values()], ids=[*ENDS_A_RUN, *BUGS])
async def test_the_saga_compensates_for_what_ends_a_run_and_never_for_a_bug(raised):
    undone: list[str] = []
    saga = Saga(compensate_on=(_Withdrawn,))
    saga.add_compensation("refund", undone.append, "refund")
    with pytest.raises(type(raised)) as info:
        async with saga:
            raise raised
    assert info.value is raised  # the original exception goes on, untouched
    assert undone == (["refund"] if raised in ENDS_A_RUN.values() else [])
    assert saga.compensation_started == (raised in ENDS_A_RUN.values())


async def test_a_bug_in_a_compensation_goes_through_and_is_not_a_failed_undo():
    async def typo() -> None:
        raise AttributeError("'RefundInput' object has no attribute 'ammount'")

    saga = Saga()
    saga.add_compensation("refund", typo)
    with pytest.raises(AttributeError):
        await saga.compensate()
    assert saga.records == [] and saga.failed == []  # a developer fixes it; nothing says a person must refund


async def test_keyword_arguments_reach_the_compensation():
    calls: list[tuple] = []

    async def refund(order: str, *, amount: int, reason: str = "") -> None:
        calls.append((order, amount, reason))

    saga = Saga()
    saga.add_compensation("refund", refund, "ORD-1", amount=4999, reason="shipment refused")
    saga.add_compensation("name", refund, "ORD-2", amount=1)  # ``name`` and ``fn`` are positional only
    await saga.compensate()
    assert calls == [("ORD-2", 1, ""), ("ORD-1", 4999, "shipment refused")]


async def _wait_for_task_failure(handle: WorkflowHandle) -> str:
    """The failure of the run's first failed workflow task (the history records it once)."""
    found: list[str] = []

    async def failed() -> bool:
        async for e in handle.fetch_history_events():
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                found.append(e.workflow_task_failed_event_attributes.failure.message)
                return True
        return False

    await _wait_until(failed, "a failed workflow task")
    return found[0]


async def test_a_bug_in_the_saga_body_undoes_nothing_and_the_run_waits_for_a_fix(env):
    workflow_id = f"saga-bug-{uuid.uuid4()}"
    async with _worker(env) as worker:
        handle = await env.client.start_workflow(
            wf.BuggySagaWorkflow.run, "ORD-1", id=workflow_id, task_queue=worker.task_queue
        )
        message = await _wait_for_task_failure(handle)
        assert 'can only concatenate str (not "int") to str' in message
        await asyncio.sleep(0.5)  # the task is retried meanwhile: still nothing undone
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        scheduled = [
            e.activity_task_scheduled_event_attributes.activity_type.name
            async for e in handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        ]
        assert scheduled == ["do_step"]
        assert [c["name"] for c in _calls(workflow_id)] == ["step1"]
        await handle.terminate(reason="the test saw what it came for")


async def test_continue_as_new_inside_the_saga_undoes_nothing(env):
    workflow_id = f"saga-can-{uuid.uuid4()}"
    async with _worker(env) as worker:
        result = await asyncio.wait_for(
            env.client.execute_workflow(wf.ContinuingSagaWorkflow.run, 0, id=workflow_id, task_queue=worker.task_queue),
            RESULT_TIMEOUT_S,
        )
    assert result == 1
    assert [c["name"] for c in _calls(workflow_id)] == ["step1"]


@pytest.mark.parametrize(("kind", "stopped"), [("declared", "OrderWithdrawn"), ("timeout", "TimeoutError")])
async def test_a_declared_business_exception_or_a_timeout_error_compensates(env, kind, stopped):
    workflow_id = f"saga-declared-{uuid.uuid4()}"
    async with _worker(env) as worker:
        result = await asyncio.wait_for(
            env.client.execute_workflow(
                wf.DeclaredStopSagaWorkflow.run, kind, id=workflow_id, task_queue=worker.task_queue
            ),
            RESULT_TIMEOUT_S,
        )
    assert result == {"stopped": stopped, "compensated": ["undo1"]}
    assert [c["name"] for c in _calls(workflow_id, "undo")] == ["undo1"]


# ------------------------------------------------- a file to take to work


SAGA_FILE = Path(saga_module.__file__)
README = SAGA_FILE.parent.parent / "README.md"
NOTEBOOK_05 = SAGA_FILE.parent.parent / "notebooks" / "05_compensation.ipynb"


def docstring_example() -> str:
    """The code block of ``saga.py``'s docstring (after its ``::``), dedented."""
    lines = saga_module.__doc__.split("::\n", 1)[1].splitlines()
    block = []
    for line in lines[1:]:
        if line and not line.startswith("    "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip()


def test_the_saga_file_imports_only_temporalio_and_the_standard_library():
    found = set()
    for node in ast.walk(ast.parse(SAGA_FILE.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." if node.level else (node.module or "").split(".")[0])
    assert found - set(sys.stdlib_module_names) == {"temporalio"}


def fenced_python(text: str) -> list[str]:
    """Every ```python block of a markdown text, dedented (a block may sit in a list item)."""
    blocks = re.finditer(r"^( *)```python\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL)
    return [textwrap.dedent(block.group(2)).strip() for block in blocks]


def test_the_readme_and_notebook_05_show_the_docstring_example_word_for_word():
    example = docstring_example()
    assert example in fenced_python(README.read_text())
    markdown = "\n".join("".join(c["source"]) for c in json.loads(NOTEBOOK_05.read_text())["cells"])
    assert example in fenced_python(markdown)


EXAMPLE_MODULE = '''
"""Generated by tests/test_saga.py: the Saga docstring's example, in a workflow."""

from datetime import timedelta

from temporalio import activity, workflow
from temporalio.exceptions import ApplicationError

from saga_lab.saga import Saga

STEP = {{"start_to_close_timeout": timedelta(seconds=10)}}
CALLS: list[tuple[str, str]] = []


def _called(name: str, order: str) -> None:
    CALLS.append((activity.info().workflow_id, name))


@activity.defn
async def charge(order: str) -> None:
    _called("charge", order)


@activity.defn
async def refund(order: str) -> None:
    _called("refund", order)


@activity.defn
async def create_order(order: str) -> None:
    _called("create_order", order)


@activity.defn
async def cancel_order(order: str) -> None:
    _called("cancel_order", order)


@activity.defn
async def ship(order: str) -> None:
    _called("ship", order)
    if order.startswith("unshippable"):
        raise ApplicationError("the address cannot be shipped to", type="ShipmentRejected", non_retryable=True)


@workflow.defn
class ExampleWorkflow:
    @workflow.run
    async def run(self, order: str) -> None:
{body}
'''


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The docstring's example as a workflow module on ``sys.path`` (the sandbox re-imports it from its file)."""
    folder = tmp_path_factory.mktemp("saga-example")
    body = textwrap.indent(docstring_example(), " " * 8)
    (folder / "saga_docstring_example.py").write_text(EXAMPLE_MODULE.format(body=body))
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module("saga_docstring_example")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("saga_docstring_example", None)


@pytest.mark.parametrize(
    ("order", "calls", "status"),
    [
        ("ORD-1", ["charge", "create_order", "ship"], WorkflowExecutionStatus.COMPLETED),
        ("unshippable-1", ["charge", "create_order", "ship", "cancel_order", "refund"], WorkflowExecutionStatus.FAILED),
    ],
    ids=["every-step", "ship-refused"],
)
async def test_the_docstring_example_runs_as_it_says(env, example, order, calls, status):
    workflow_id = f"saga-example-{uuid.uuid4()}"
    activities = [example.charge, example.refund, example.create_order, example.cancel_order, example.ship]
    async with Worker(
        env.client, task_queue=workflow_id, workflows=[example.ExampleWorkflow], activities=activities
    ) as worker:
        handle = await env.client.start_workflow(
            example.ExampleWorkflow.run, order, id=workflow_id, task_queue=worker.task_queue
        )
        with contextlib.suppress(WorkflowFailureError):
            await asyncio.wait_for(handle.result(), RESULT_TIMEOUT_S)
    assert [name for wid, name in example.CALLS if wid == workflow_id] == calls
    assert (await handle.describe()).status == status
