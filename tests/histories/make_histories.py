"""Run a few real sagas once and store their event histories as JSON for the golden tests.

The stored histories make ``tests/test_diagrams.py`` fast and deterministic: it turns
them into PlantUML text and compares with ``tests/golden/*.puml``, with no server.
Run this again only when the workflow changes on purpose, then review and regenerate
the golden files:

    .venv/bin/python tests/histories/make_histories.py            # a throw-away server
    .venv/bin/python tests/test_diagrams.py --update-golden         # rewrite tests/golden/

It starts its own embedded Temporal dev server on free ports with a temporary data
directory (services' databases included), so the fixed workflow ids below never meet
an earlier run. It takes about 15 s (the timeout case waits out one 2 s timeout).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import WorkflowHandle

from saga_lab import server
from saga_lab.checkout import order_result, start_order
from saga_lab.faults import FaultPlan
from saga_lab.history import fetch
from saga_lab.worker import BackgroundWorkers
from saga_lab.workflows import OrderSagaWorkflow

HERE = Path(__file__).resolve().parent


@dataclass
class Case:
    """One saga to run: its workflow id (the file name too), its faults and how to drive it."""

    workflow_id: str
    faults: list[str] = field(default_factory=list)
    hold_seconds: float = 0.0
    parallel_compensation: bool = False
    #: "update": the customer cancels with the ``cancel_order`` update during the hold;
    #: "cancel": the client asks Temporal to cancel the workflow during the hold.
    cancel: str | None = None


CASES = [
    Case("golden-happy"),
    Case("golden-shipment-permanent", ["create_shipment=permanent"]),
    Case("golden-charge-transient-2", ["charge=transient:2"]),
    Case("golden-charge-transient-4", ["charge=transient:4"]),
    Case("golden-order-timeout-1", ["create_order=timeout:1"]),
    Case("golden-refund-permanent", ["create_shipment=permanent", "refund=permanent"]),
    Case("golden-parallel-compensation", ["create_shipment=permanent"], parallel_compensation=True),
    Case("golden-cancel-update-during-hold", hold_seconds=30, cancel="update"),
    Case("golden-cancel-request-during-hold", hold_seconds=30, cancel="cancel"),
]


async def _wait_for_hold(handle: WorkflowHandle) -> None:
    """Until the saga waits in its hold (its timer is started)."""
    for _ in range(200):
        progress = await handle.query(OrderSagaWorkflow.progress)
        if progress.current_step == "hold":
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{handle.id} never reached its hold")


async def run_case(client, case: Case) -> str:
    handle = await start_order(
        client, case.workflow_id, 4999, FaultPlan.parse(case.faults),
        hold_seconds=case.hold_seconds, parallel_compensation=case.parallel_compensation,
    )  # fmt: skip
    if case.cancel:
        await _wait_for_hold(handle)
        if case.cancel == "update":
            await handle.execute_update(OrderSagaWorkflow.cancel_order, "changed my mind")
        else:
            await handle.cancel()
    result = await order_result(handle)
    history = await fetch(client, case.workflow_id)
    (HERE / f"{case.workflow_id}.json").write_text(history.to_json() + "\n", encoding="utf-8")
    return f"{case.workflow_id}: {result.status} {result.compensations or ''}"


async def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="saga-lab-histories-"))
    settings = server.ServerSettings(home=home / "temporal", port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    try:
        client = await server.connect(info)
        async with BackgroundWorkers(client, home=home):
            lines = await asyncio.gather(*(run_case(client, case) for case in CASES))
        print("\n".join(lines))
        print(f"wrote {len(CASES)} histories to {HERE}")
    finally:
        server.stop(settings)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
