"""Replay tests: today's workflow code against histories recorded by earlier code.

A worker that picks up a saga in flight rebuilds its state by *replaying* the run's
history through the workflow code: the code must issue the same commands (activities,
timers, in the same order) that the history recorded, or the run is stuck with a
``NondeterminismError``. ``tests/record_histories.py`` recorded one run of each kind
(happy path, compensations, a failed compensation, both cancellations, the naive
workflow) into ``tests/histories/replay/``; here each is replayed with the package's
workflows, with no server, in a fraction of a second.

When this test fails after a change to a workflow, the change would break runs in
flight. Guard it with ``workflow.patched(...)`` (as ``OrderFirstPatchedWorkflow`` in
``tests/nondeterministic_workflows.py`` does) or, if no old run can still be in flight
anywhere, record the histories again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from saga_lab.workflows import WORKFLOWS, NaiveOrderWorkflow

try:  # tests/ may or may not become a package
    from . import nondeterministic_workflows as changed
    from .record_histories import CASES, HISTORIES, Case, history_path
except ImportError:
    import nondeterministic_workflows as changed
    from record_histories import CASES, HISTORIES, Case, history_path

SAGA_CASES = [case for case in CASES if case.workflow_type == "OrderSagaWorkflow"]
HAPPY = next(case for case in CASES if case.workflow_id == "replay-happy")

#: The Temporal status each kind of closing event means.
CLOSED = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "COMPLETED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "FAILED",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "CANCELED",
}


def load(case: Case) -> WorkflowHistory:
    return WorkflowHistory.from_json(case.workflow_id, history_path(case).read_text(encoding="utf-8"))


async def _each(histories: Iterable[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


def _ids(cases: list[Case]) -> list[str]:
    return [case.workflow_id.removeprefix("replay-") for case in cases]


def test_every_recorded_case_has_its_history_and_nothing_else():
    stored = sorted(path.stem for path in HISTORIES.glob("*.json"))
    assert stored == sorted(case.workflow_id for case in CASES), "run tests/record_histories.py"


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_the_stored_history_is_the_run_it_says(case: Case):
    history = load(case)
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.workflow_type.name == case.workflow_type
    assert CLOSED.get(history.events[-1].event_type) == case.ends
    # the fault plan travels in the input, so the history says which faults the run had
    recorded_faults = json.loads(started.input.payloads[0].data)["faults"]["faults"]
    assert sorted(recorded_faults) == sorted(spec.split("=")[0] for spec in case.faults)


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
async def test_todays_code_replays_the_recorded_run(case: Case):
    result = await Replayer(workflows=WORKFLOWS).replay_workflow(load(case), raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{case.workflow_id} ({case.why}): {result.replay_failure}"


async def test_all_recorded_runs_replay_together():
    """What a CI job would run over a sample of production histories."""
    results = await Replayer(workflows=WORKFLOWS).replay_workflows(_each(load(case) for case in CASES))
    assert dict(results.replay_failures) == {}


# ------------------------------------------------------------ a change that breaks them


async def test_creating_the_order_before_charging_breaks_a_recorded_saga():
    replayer = Replayer(workflows=[changed.OrderFirstWorkflow])
    with pytest.raises(NondeterminismError) as raised:
        await replayer.replay_workflow(load(HAPPY))
    assert (
        "Activity type of scheduled event 'charge' does not match activity type of activity command 'create_order'"
        in str(raised.value)
    )


async def test_the_breaking_change_breaks_every_recorded_saga_and_only_those():
    replayer = Replayer(workflows=[changed.OrderFirstWorkflow, NaiveOrderWorkflow])
    histories = [load(case) for case in CASES]
    results = await replayer.replay_workflows(_each(histories), raise_on_replay_failure=False)
    failed = {h.workflow_id for h in histories if h.run_id in results.replay_failures}
    assert failed == {case.workflow_id for case in SAGA_CASES}  # the naive workflow did not change
    assert all(isinstance(err, NondeterminismError) for err in results.replay_failures.values())


async def test_the_same_change_behind_workflow_patched_replays_every_recorded_run():
    replayer = Replayer(workflows=[changed.OrderFirstPatchedWorkflow, NaiveOrderWorkflow])
    histories = [load(case) for case in CASES]
    results = await replayer.replay_workflows(_each(histories), raise_on_replay_failure=False)
    failed = {
        h.workflow_id: str(results.replay_failures[h.run_id]) for h in histories if h.run_id in results.replay_failures
    }
    assert failed == {}
