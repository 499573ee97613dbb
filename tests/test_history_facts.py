"""``saga_lab.history.facts``: what exercise checks ask of a run, read from real recorded histories.

The histories are ``tests/histories/golden-*.json`` (real runs of ``OrderSagaWorkflow``);
no server is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import WorkflowHistory

from saga_lab import history

HISTORIES = Path(__file__).resolve().parent / "histories"


def facts(name: str) -> history.RunFacts:
    raw = json.loads((HISTORIES / f"golden-{name}.json").read_text())
    return history.facts(WorkflowHistory.from_json(f"golden-{name}", raw))


def test_a_refused_shipment_shows_its_business_error_and_the_undos_newest_first():
    run = facts("shipment-permanent")
    assert (run.workflow, run.status, run.reason) == ("OrderSagaWorkflow", "COMPLETED", None)
    assert run.scheduled == ["charge", "create_order", "create_shipment", "cancel_order", "refund"]
    shipment = run.of("create_shipment")[0]
    assert (shipment.outcome, shipment.failure_type, shipment.retry_state) == (
        "failed",
        "ShipmentRejected",
        "NON_RETRYABLE_FAILURE",
    )
    assert [r.name for r in run.refused] == ["create_shipment"]
    assert [u.name for u in run.undos] == ["cancel_order", "refund"]
    assert run.undos_of_refused() == []
    assert [a.key for a in run.activities] == [f"golden-shipment-permanent:{name}" for name in run.scheduled]
    assert run.of("charge")[0].input["amount"] == 4999 and run.result["status"] == "COMPENSATED"


def test_a_failed_undo_ends_the_run_failed_saying_a_person_must_act():
    run = facts("refund-permanent")
    assert run.status == "FAILED" and run.reason.startswith("needs a person: 1 of 2 compensations failed: refund")
    refund = run.of("refund")[0]
    assert (refund.outcome, refund.failure_type) == ("failed", "RefundRejected")


def test_a_lost_reply_shows_as_a_second_attempt_of_one_activity():
    run = facts("order-timeout-1")
    order = run.of("create_order")
    assert len(order) == 1 and order[0].attempts == 2 and order[0].outcome == "completed"
    assert order[0].result is not None and run.status == "COMPLETED" and run.undos == []


def test_an_undo_for_a_refused_step_is_found():
    run = facts("shipment-permanent")
    charge = run.of("charge")[0]
    charge.outcome, charge.failure_type = "failed", "PaymentDeclined"  # as if the card had been declined
    assert [(step.name, undo.name) for step, undo in run.undos_of_refused()] == [("charge", "refund")]


def _task_failed(event_id: int, cause: str, message: str):
    from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
    from temporalio.api.history.v1 import HistoryEvent

    event = HistoryEvent(event_id=event_id, event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
    attrs = event.workflow_task_failed_event_attributes
    attrs.cause = WorkflowTaskFailedCause.Value(f"WORKFLOW_TASK_FAILED_CAUSE_{cause}")
    attrs.failure.message = message
    return event


def test_only_a_task_failure_of_the_code_counts_not_one_the_server_retries():
    """A cancel that arrives as the run completes makes the server refuse the task (UnhandledCommand): the
    task is run again with the news, nothing is wrong with the code. A check must not call that a bug."""
    raw = json.loads((HISTORIES / "golden-happy.json").read_text())
    run = WorkflowHistory.from_json("golden-happy", raw)
    last = run.events[-1].event_id
    server = _task_failed(last + 1, "UNHANDLED_COMMAND", "UnhandledCommand")
    assert history.facts(WorkflowHistory(run.workflow_id, [*run.events, server])).task_failures == []
    code = _task_failed(last + 2, "WORKFLOW_WORKER_UNHANDLED_FAILURE", "name 'refnud' is not defined")
    found = history.facts(WorkflowHistory(run.workflow_id, [*run.events, server, code])).task_failures
    assert [(e.cause, e.reason) for e in found] == [
        ("WORKFLOW_WORKER_UNHANDLED_FAILURE", "name 'refnud' is not defined")
    ]


def test_a_deadlock_the_run_got_past_is_a_busy_machine_one_it_did_not_may_be_the_code():
    """The SDK fails a workflow task that does not yield within 2 s. On a busy fresh clone a sound
    workflow met it once and its next task went on; code that blocks meets it on every try."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.history.v1 import HistoryEvent

    raw = json.loads((HISTORIES / "golden-happy.json").read_text())
    run = WorkflowHistory.from_json("golden-happy", raw)
    last = run.events[-1].event_id
    message = "[TMPRL1101] Potential deadlock detected: workflow didn't yield within 2 second(s)."
    deadlock = _task_failed(last + 1, "WORKFLOW_WORKER_UNHANDLED_FAILURE", message)
    went_on = HistoryEvent(event_id=last + 2, event_type=EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)

    past = history.facts(WorkflowHistory(run.workflow_id, [*run.events, deadlock, went_on]))
    assert past.task_failures == [] and not past.surely_broken
    stuck = history.facts(WorkflowHistory(run.workflow_id, [*run.events, deadlock]))
    assert [e.reason for e in stuck.task_failures] == [message] and not stuck.surely_broken
    code = _task_failed(last + 3, "WORKFLOW_WORKER_UNHANDLED_FAILURE", "name 'refnud' is not defined")
    assert history.facts(WorkflowHistory(run.workflow_id, [*run.events, deadlock, went_on, code])).surely_broken
