"""The chaos runner: the order checker, the worker supervisor, and real chaos runs.

The checker (:func:`saga_lab.chaos.check_order`) is pinned to hand-written cases first, so
a chaos run that finds nothing wrong means something. Then the supervisor: a killed worker,
and one whose crash fault SIGKILLs it, are replaced by workers the server sees polling; none
is left behind, even when the supervising process itself is killed. Then the real thing, on
a server of the test's own: 200 sagas at fault rate 0.3 (every step, every kind, ``late``
and ``crash`` included), a worker process SIGKILLed every ~2 s and the server restarted
mid-run, and every order checked across the three databases.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from saga_lab import cli, connection, server
from saga_lab.chaos import (
    LOST,
    ChaosConfig,
    ChaosConfigError,
    ChaosResult,
    OrderFacts,
    OrderRow,
    check_order,
    run_chaos,
    saga_plan,
)
from saga_lab.chaos.runner import saga_amount
from saga_lab.checkout import new_order_id, place_order
from saga_lab.config import ACTIONS, SERVICES, STEPS
from saga_lab.faults import CRASH, LATE, Fault, FaultPlan
from saga_lab.models import COMPENSATED, COMPLETED, FAILED
from saga_lab.supervisor import WorkerSupervisor

try:  # tests/ may or may not become a package
    from .helpers import alive, saga_lab_command
except ImportError:
    from helpers import alive, saga_lab_command

REPO = Path(__file__).resolve().parent.parent
SAGA_LAB = saga_lab_command()


async def wait_for(condition, what: str, timeout_s: float = 20.0) -> None:
    """Poll ``condition()`` (sync or async) until true; fail saying ``what`` did not happen."""
    deadline = time.monotonic() + timeout_s
    while True:
        done = condition()
        if await done if inspect.isawaitable(done) else done:
            return
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s:g} s"
        await asyncio.sleep(0.02)


async def polling(client, service: str, pid: int) -> bool:
    """Whether process ``pid`` polls ``service``'s task queue, as the server sees it."""
    kind = TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW if service == "workflow" else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=connection.task_queue(client, service)),
        task_queue_type=kind,
    )
    described = await client.workflow_service.describe_task_queue(request)
    return pid in {int(poller.identity.split("@")[0]) for poller in described.pollers}


# ------------------------------------------------------------------ the checker


def test_a_completed_order_is_charged_once_active_and_shipped_once() -> None:
    good = OrderFacts(charges=1, charged=500, order_status="ACTIVE", order_amount=500, shipments=["CREATED"])
    assert check_order(COMPLETED, 500, good, workflow_status="COMPLETED") is None
    twice = OrderFacts(charges=2, charged=1000, order_status="ACTIVE", order_amount=500, shipments=["CREATED"])
    assert "charged 2 times" in check_order(COMPLETED, 500, twice)
    refunded = OrderFacts(
        charges=1, charged=500, refunded=500, order_status="ACTIVE", order_amount=500, shipments=["CREATED"]
    )
    assert "net 0, expected the amount 500" in check_order(COMPLETED, 500, refunded)
    two_shipments = OrderFacts(
        charges=1, charged=500, order_status="ACTIVE", order_amount=500, shipments=["CREATED"] * 2
    )
    assert "expected one CREATED" in check_order(COMPLETED, 500, two_shipments)
    assert "the workflow is FAILED" in check_order(COMPLETED, 500, good, workflow_status="FAILED")


def test_a_compensated_order_holds_no_money_no_active_order_no_live_shipment() -> None:
    assert check_order(COMPENSATED, 500, OrderFacts(), workflow_status="COMPLETED") is None
    undone = OrderFacts(
        charges=1, charged=500, refunded=500, order_status="CANCELLED", order_amount=500, shipments=["CANCELLED"]
    )
    assert check_order(COMPENSATED, 500, undone) is None
    kept = OrderFacts(charges=1, charged=500, order_status="CANCELLED", order_amount=500)
    assert "net 500, expected 0" in check_order(COMPENSATED, 500, kept)
    active = OrderFacts(charges=1, charged=500, refunded=500, order_status="ACTIVE", order_amount=500)
    assert "order ACTIVE" in check_order(COMPENSATED, 500, active)
    shipped = OrderFacts(charges=1, charged=500, refunded=500, order_status="CANCELLED", shipments=["CREATED"])
    assert "still live" in check_order(COMPENSATED, 500, shipped)


def test_a_failed_order_is_explained_by_the_compensation_that_failed() -> None:
    held = OrderFacts(charges=1, charged=500, order_status="CANCELLED", order_amount=500)
    refund_failed = dict(compensations=["cancel_order"], failed_compensations=["refund"])
    assert check_order(FAILED, 500, held, **refund_failed, workflow_status="FAILED") is None
    refunded_anyway = OrderFacts(charges=1, charged=500, refunded=500, order_status="CANCELLED", order_amount=500)
    assert "yet 500 was refunded" in check_order(FAILED, 500, refunded_anyway, **refund_failed)

    cancel_failed = dict(compensations=["refund"], failed_compensations=["cancel_order"])
    active = OrderFacts(charges=1, charged=500, refunded=500, order_status="ACTIVE", order_amount=500)
    assert check_order(FAILED, 500, active, **cancel_failed) is None
    not_refunded = OrderFacts(charges=1, charged=500, order_status="ACTIVE", order_amount=500)
    assert "refunded, yet net 500" in check_order(FAILED, 500, not_refunded, **cancel_failed)

    both = dict(compensations=[], failed_compensations=["cancel_order", "refund"])
    assert check_order(FAILED, 500, not_refunded, **both) is None
    assert "no compensation failed" in check_order(FAILED, 500, OrderFacts(), compensations=[])
    assert "the workflow is COMPLETED" in check_order(FAILED, 500, held, **refund_failed, workflow_status="COMPLETED")
    assert check_order(LOST, 500, OrderFacts()) == "unexpected end status 'LOST'"


def test_plans_and_amounts_are_seeded_and_cover_every_step_and_kind() -> None:
    assert saga_plan(7, 3, 0.3) == saga_plan(7, 3, 0.3)
    assert saga_amount(7, 3) == saga_amount(7, 3)
    plans = [saga_plan(1, i, 0.3) for i in range(400)]
    points = {(step, fault.kind) for plan in plans for step, fault in plan.faults.items()}
    assert {step for step, _ in points} == set(STEPS)
    assert {CRASH, LATE} <= {kind for _, kind in points}
    assert all(fault.times <= 2 for plan in plans for fault in plan.faults.values())
    assert saga_plan(1, 0, 0.0).faults == {}


def test_bad_configs_are_refused_in_one_line() -> None:
    bad_configs = [
        dict(sagas=0),
        dict(sagas=True),
        dict(fault_rate=1.5),
        dict(fault_rate=float("nan")),
        dict(run_id="a-b"),
    ]
    bad_configs += [dict(seed=-1), dict(concurrency=-1), dict(deadline_s=0), dict(kill_interval_s="2")]
    bad_configs += [dict(id_prefix=""), dict(id_prefix="nb 11"), dict(id_prefix="-x")]
    for bad in bad_configs:
        with pytest.raises(ChaosConfigError):
            ChaosConfig(**bad).validate()


@pytest.mark.parametrize(
    "args",
    [
        ["--sagas", "0"],
        ["--sagas", "-5"],
        ["--sagas", "ten"],
        ["--sagas", "10", "--fault-rate", "1.01"],
        ["--sagas", "10", "--fault-rate", "-0.5"],
        ["--sagas", "10", "--fault-rate", "nan"],
        ["--sagas", "10", "--explode"],
        [],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["chaos", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("saga-lab: "), err


def test_an_inconsistent_order_makes_the_command_fail(monkeypatch, capsys) -> None:
    """Exit 3 (not 0) when the checker found an order that breaks the saga's promise."""
    config = ChaosConfig(sagas=1)
    row = OrderRow(
        "chaos-x-1-0", 0, 500, "no faults", [], "none", COMPLETED, consistent=False, problem="net 0, expected 500"
    )
    result = ChaosResult(config, "x", "chaos-x-1-", "127.0.0.1:1", 1.0, [row], {"total": {}})
    assert result.money["conserved"] is False and not result.ok

    async def fake_run_chaos(config, progress=None, **_):
        return result

    monkeypatch.setattr("saga_lab.chaos.run_chaos", fake_run_chaos)
    assert cli.main(["chaos", "--sagas", "1", "--json"]) == 3
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] is False and summary["inconsistent"][0]["problem"] == "net 0, expected 500"


# ------------------------------------------------------------------ the supervisor


async def test_a_killed_or_crashed_worker_is_replaced_by_one_that_polls_and_none_is_left_behind(
    session_server, tmp_path
) -> None:
    client = await connection.connect(session_server)
    async with WorkerSupervisor(session_server, tmp_path) as supervisor:
        first = supervisor.pids
        assert set(first) == set(SERVICES) and all(first.values())
        await wait_for(lambda: polling(client, "payment", first["payment"]), "the first payment worker polling")
        assert await supervisor.kill("payment") == first["payment"]
        await wait_for(lambda: supervisor.pids["payment"] not in (None, first["payment"]), "a payment restart")
        second = supervisor.pids["payment"]
        await wait_for(lambda: polling(client, "payment", second), "the new payment worker polling")
        assert not alive(first["payment"])
        assert supervisor.stats["payment"].kills == 1 and supervisor.stats["payment"].restarts == 1
        # A real crash fault: the order worker does the work, then SIGKILLs its own process (only these
        # workers' fault injectors may); the step's retry runs on the restarted worker and the saga completes.
        plan = FaultPlan({"create_order": Fault(CRASH, 1)})
        result = await place_order(client, new_order_id("chaos-crash"), 4999, plan)
        assert result.status == COMPLETED, result
        assert not alive(first["order"]) and supervisor.pids["order"] != first["order"]
        assert supervisor.stats["order"].crashes == 1 and supervisor.stats["order"].kills == 0
        seen = set(first.values()) | {second} | {pid for pid in supervisor.pids.values() if pid}
    assert [pid for pid in seen if alive(pid)] == []


def test_workers_end_when_their_supervising_process_is_killed(session_server, tmp_path) -> None:
    """SIGKILL the process running a supervisor: it cannot stop its workers, and they stop on their own."""
    script = tmp_path / "supervise.py"
    script.write_text(
        "import asyncio, sys\n"
        "from saga_lab import connection\n"
        "from saga_lab.supervisor import WorkerSupervisor\n"
        "async def main():\n"
        f"    async with WorkerSupervisor(connection.current_server(), {str(tmp_path)!r}) as supervisor:\n"
        "        print(*supervisor.pids.values(), flush=True)\n"
        "        await asyncio.sleep(600)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        workers = [int(pid) for pid in process.stdout.readline().split()]
        assert len(workers) == len(SERVICES) and all(alive(pid) for pid in workers)
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers outlived their supervisor: {[p for p in workers if alive(p)]}"
        time.sleep(0.05)


# ------------------------------------------------------------------ real chaos


@pytest.fixture
def own_server():
    """An embedded server of this test's own (free ports, throw-away home): the runner may restart it."""
    home = Path(tempfile.mkdtemp(prefix="saga-lab-chaos-"))
    settings = server.ServerSettings(home=home / "temporal", port=server.free_port(), ui_port=server.free_port())
    info = server.start(settings)
    try:
        yield info, home, settings
    finally:
        server.stop(settings)
        shutil.rmtree(home, ignore_errors=True)


async def test_200_sagas_with_faults_worker_kills_and_a_server_restart_end_consistent(own_server) -> None:
    """The acceptance run, scaled down: nothing inconsistent, nothing lost, money conserved.

    It runs on a server of its own (``ChaosConfig.own_server``), because the runner stops and restarts it
    mid-run (every other test shares the session's server).
    """
    info, home, settings = own_server
    began = time.monotonic()
    # own_server: running already, so the runner uses it, and restarts only it.
    config = ChaosConfig(
        sagas=200, fault_rate=0.3, seed=11, kill_workers=True, restart_server=True, home=home, own_server=settings
    )
    result = await run_chaos(config)
    took = time.monotonic() - began
    report = result.report()
    assert result.inconsistent == [], report
    assert result.lost == [], report
    assert result.money["conserved"], report
    assert result.ok
    counts = result.counts
    assert sum(counts.values()) == 200 and counts[LOST] == 0
    assert counts[COMPLETED] > 100 and counts[COMPENSATED] > 10, counts
    totals = result.workers["total"]
    assert totals["crashes"] > 0 and totals["kills"] > 0, totals  # both ways of dying happened
    assert result.money["net"] == result.money["net_completed"] + result.money["net_failed"]
    assert "down_s" in result.server_restart, result.server_restart
    kinds = [event.kind for event in result.events]
    assert "server stopped" in kinds and "server started" in kinds
    assert result.server_address == info.address, "the run used its own server, not the session's"
    assert [e.detail for e in result.events if e.kind == "server stopped"] == ["the run's own server"]
    assert server.is_temporal(info.address), "the server must be running again after the run"
    rows = result.orders
    assert all(row.consistent for row in rows) and all(row.latency_s is not None for row in rows)
    assert {row.fault_point for row in rows} >= {"none", *STEPS}
    late_forward = [row for row in rows if {f"{step}={LATE}" for step in ACTIONS} & set(row.fault_points)]
    assert late_forward, "late faults on forward steps (which always run) are in the mix"
    late = result.late_work  # the late work the worker processes held: each landed, or died with its worker
    assert late["held"] > 0 and late["landed"] + late["lost"] == late["held"], late
    assert f"late work: {late['held']} held, {late['landed']} landed, {late['lost']} lost" in report
    print(f"\n200 sagas with worker kills and a server restart: {took:.1f} s; {counts}; workers {totals}; late {late}")


def test_the_command_prints_one_json_summary(session_server) -> None:
    """``saga-lab chaos --json`` as a user on a shared server runs it: the session's server named by
    ``TEMPORAL_ADDRESS``, which is not the runner's to restart."""
    options = ["--sagas", "10", "--fault-rate", "0.1", "--seed", "3", "--restart-server", "--json"]
    command = [str(SAGA_LAB), "chaos", *options]
    env = {**os.environ, "TEMPORAL_ADDRESS": session_server.address}
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and summary["sagas"] == 10
    assert sum(summary["status"].values()) == 10
    assert summary["inconsistent"] == [] and summary["lost"] == []
    assert summary["money"]["conserved"] is True
    assert "ended" in done.stderr  # progress as plain lines on stderr
    # A server named by TEMPORAL_ADDRESS is not the runner's: the restart is skipped, and said so in one line.
    assert "TEMPORAL_ADDRESS" in summary["server_restart"]["skipped"]
    assert sum("server restart skipped" in line for line in done.stderr.splitlines()) == 1
