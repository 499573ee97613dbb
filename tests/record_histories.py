"""Record representative saga runs and store their event histories for ``tests/test_replay.py``.

A replay test feeds a recorded history to the *current* workflow code: if the code
would now issue different commands (another activity, another order, a timer more or
less), the replay fails with a ``NondeterminismError``. That is what would happen to
every saga in flight when a worker with the new code picks it up.

Run it again only when a workflow changes on purpose *and* no run recorded with the
old code can still be in flight anywhere; otherwise guard the change with
``workflow.patched(...)`` and keep the old histories (see ``tests/test_replay.py``):

    .venv/bin/python tests/record_histories.py
    .venv/bin/python tests/record_histories.py --only replay-happy    # record (or add) one case

It starts its own embedded Temporal dev server on free ports with a temporary data
directory (the services' databases too), so the fixed workflow ids below never meet an
earlier run, writes ``tests/histories/replay/<workflow id>.json`` and stops the server.
It takes about 5 s.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import WorkflowHandle

from saga_lab import connection, server
from saga_lab.checkout import order_result, start_order
from saga_lab.faults import FaultPlan
from saga_lab.worker import BackgroundWorkers, tidy_activity_logs
from saga_lab.workflows import OrderSagaWorkflow

HISTORIES = Path(__file__).resolve().parent / "histories" / "replay"


@dataclass(frozen=True)
class Case:
    """One run to record: its workflow id (the file's name), how to drive it, how it must end."""

    workflow_id: str
    faults: tuple[str, ...] = ()
    naive: bool = False
    hold_seconds: float = 0.0
    parallel_compensation: bool = False
    deadline_seconds: float = 0.0
    #: "update": the customer sends the ``cancel_order`` update during the hold;
    #: "cancel": a client asks Temporal to cancel the workflow during the hold.
    cancel: str | None = None
    #: The run's Temporal status (its last event), checked when recording and replaying.
    ends: str = "COMPLETED"
    workflow_type: str = "OrderSagaWorkflow"
    #: What the run exercises, for a reader of the test report.
    why: str = field(default="", compare=False)


CASES = [
    Case("replay-happy", why="three steps, no compensation"),
    Case("replay-shipment-permanent", ("create_shipment=permanent",), why="compensated: cancel_order, refund"),
    Case("replay-charge-transient-2", ("charge=transient:2",), why="two retries, then completed"),
    Case(
        "replay-shipment-transient-5",
        ("create_shipment=transient:5",),
        why="retries exhausted, outcome unknown: cancel_shipment too",
    ),
    Case(
        "replay-refund-permanent",
        ("create_shipment=permanent", "refund=permanent"),
        ends="FAILED",
        why="a compensation fails for good: FAILED, needs a person",
    ),
    Case(
        "replay-parallel-compensation",
        ("create_shipment=permanent",),
        parallel_compensation=True,
        why="compensations started side by side",
    ),
    Case(
        "replay-cancel-update-during-hold",
        hold_seconds=30,
        cancel="update",
        why="the cancel_order update ends the hold; compensated",
    ),
    Case(
        "replay-cancel-request-during-hold",
        hold_seconds=30,
        cancel="cancel",
        ends="CANCELED",
        why="Temporal cancellation during the hold; compensated, CANCELED",
    ),
    Case(
        "replay-cancel-refund-permanent-with-deadline",
        ("refund=permanent",),
        hold_seconds=30,
        deadline_seconds=120,
        cancel="cancel",
        ends="FAILED",
        why="a cancel in the hold, a deadline set, the refund fails for good: FAILED, needs a person",
    ),
    Case(
        "replay-naive-shipment-permanent",
        ("create_shipment=permanent",),
        naive=True,
        ends="FAILED",
        workflow_type="NaiveOrderWorkflow",
        why="no saga: FAILED with the charge left behind",
    ),
]


def history_path(case: Case) -> Path:
    return HISTORIES / f"{case.workflow_id}.json"


async def _wait_for_hold(handle: WorkflowHandle) -> None:
    """Until the saga waits in its hold (its timer is started)."""
    for _ in range(400):
        if (await handle.query(OrderSagaWorkflow.progress)).current_step == "hold":
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{handle.id} never reached its hold")


async def record(client, case: Case, out_dir: Path = HISTORIES) -> str:
    handle = await start_order(
        client,
        case.workflow_id,
        4999,
        FaultPlan.parse(list(case.faults)),
        naive=case.naive,
        hold_seconds=case.hold_seconds,
        parallel_compensation=case.parallel_compensation,
        deadline_seconds=case.deadline_seconds,
    )
    if case.cancel:
        await _wait_for_hold(handle)
        if case.cancel == "update":
            await handle.execute_update(OrderSagaWorkflow.cancel_order, "changed my mind")
        else:
            await handle.cancel()
    result = await order_result(handle)
    status = (await handle.describe()).status.name
    if status != case.ends:
        raise RuntimeError(f"{case.workflow_id} ended {status}, expected {case.ends}: {result}")
    history = await handle.fetch_history()
    (out_dir / f"{case.workflow_id}.json").write_text(history.to_json() + "\n", encoding="utf-8")
    return f"{case.workflow_id}: {status}, {result.status} {result.compensations or ''}"


async def record_all(cases: list[Case], out_dir: Path) -> None:
    """Run ``cases`` on a throw-away embedded server and write their histories to ``out_dir``."""
    tidy_activity_logs(logging.ERROR)  # the injected faults are expected: no log line per attempt
    logging.getLogger("temporalio.workflow").setLevel(logging.ERROR)
    home = Path(tempfile.mkdtemp(prefix="saga-lab-histories-"))
    settings = server.ServerSettings(home=home / "temporal", port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    try:
        client = await connection.connect(info)
        out_dir.mkdir(parents=True, exist_ok=True)
        async with BackgroundWorkers(client, home=home):
            lines = await asyncio.gather(*(record(client, case, out_dir) for case in cases))
        print("\n".join(lines))
        print(f"wrote {len(cases)} histories to {out_dir}")
    finally:
        server.stop(settings)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--only"]:
        sys.exit(asyncio.run(record_all([case for case in CASES if case.workflow_id in sys.argv[2:]], HISTORIES)))
    sys.exit(asyncio.run(record_all(CASES, Path(sys.argv[1]) if len(sys.argv) > 1 else HISTORIES)))
