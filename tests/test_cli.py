"""The ``saga-lab`` command's contract, run as a user runs it: a subprocess of the console script.

Every command talks to the session's dev server (``conftest.py`` exports ``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE`` and ``SAGA_LAB_HOME``; the subprocesses inherit them). Sagas and
checks run concurrently to keep the module fast; every order id carries a per-run suffix.

Every command runs exactly once and its exit code is asserted. The console script
(``saga_lab.cli:run``) flushes its output and leaves with ``os._exit``, so a process that
used a ``temporalio`` client never dies in interpreter finalization
(``test_cli_never_crashes_at_exit`` runs a dozen at once to hold it to that), and ``place``
prints nothing on stderr even when its workers drop other processes' in-flight sagas from
their cache (``test_place_prints_nothing_on_stderr``).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import select
import signal
import sqlite3
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import saga_lab_command
except ImportError:
    from helpers import saga_lab_command

REPO = Path(__file__).resolve().parent.parent
SAGA_LAB = saga_lab_command()
RUN = uuid.uuid4().hex[:8]

PLACE_KEYS = {"order_id", "run", "status", "payment_id", "shipment_id", "compensations", "error"}
SHOW_KEYS = {"order_id", "workflow", "payment", "order", "shipping"}
NULL_SERVICES = {
    "payment": {"status": None, "amount": None, "net": None},
    "order": {"status": None},
    "shipping": {"status": None},
}


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``saga-lab ARGS`` once, as a user would."""
    return subprocess.run(
        [str(SAGA_LAB), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def run_many(commands: list[tuple[str, ...]], env: dict | None = None) -> list[subprocess.CompletedProcess]:
    """Run CLI commands concurrently; results in the order given."""
    with ThreadPoolExecutor(max_workers=max(1, len(commands))) as pool:
        return list(pool.map(lambda args: run_cli(*args, env=env), commands))


def one_json_line(done: subprocess.CompletedProcess) -> dict:
    """stdout is exactly one line holding one JSON object."""
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout
    value = json.loads(done.stdout)
    assert isinstance(value, dict)
    return value


def assert_one_error_line(done: subprocess.CompletedProcess) -> None:
    assert done.stdout == "", done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.endswith("\n") and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("saga-lab: "), done.stderr


def assert_show_shape(shown: dict, order_id: str) -> None:
    assert set(shown) == SHOW_KEYS
    assert shown["order_id"] == order_id
    assert set(shown["workflow"]) == {"status"}
    assert set(shown["payment"]) == {"status", "amount", "net"}
    assert set(shown["order"]) == {"status"}
    assert set(shown["shipping"]) == {"status"}


# ---------------------------------------------------------------- place and show: one saga per scenario

AMOUNT = 4999

SCENARIOS = {
    "ok": [],
    "ship_permanent": ["--fail", "create_shipment=permanent"],
    "charge_permanent": ["--fail", "charge=permanent"],
    "refund_fails": ["--fail", "create_shipment=permanent", "--fail", "refund=permanent"],
    "naive": ["--naive", "--fail", "create_shipment=permanent"],
    "order_transient": ["--fail", "create_order=transient:2"],
    "charge_timeout": ["--fail", "charge=timeout"],
}


def order_id(scenario: str) -> str:
    return f"cli-{scenario.replace('_', '-')}-{RUN}"


@pytest.fixture(scope="module")
def first_runs(session_server) -> tuple[list[subprocess.CompletedProcess], list[subprocess.CompletedProcess]]:
    """Every scenario's `place` and every bad input, all at once (bad inputs fill the sagas' waits)."""
    places = [("place", order_id(name), "--amount", str(AMOUNT), *SCENARIOS[name]) for name in SCENARIOS]
    runs = run_many(places + [tuple(argv) for _, argv, _ in BAD_INPUTS])
    return runs[: len(places)], runs[len(places) :]


@pytest.fixture(scope="module")
def sagas(first_runs) -> dict[str, tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]]:
    """Every scenario placed concurrently, then shown: {scenario: (place, show)}."""
    names = list(SCENARIOS)
    shown = run_many([("show", order_id(name)) for name in names])
    return {name: (p, s) for name, p, s in zip(names, first_runs[0], shown)}


def _place_result(sagas, scenario: str) -> dict:
    placed, _ = sagas[scenario]
    assert placed.returncode == 0, placed.stderr
    result = one_json_line(placed)
    assert set(result) == PLACE_KEYS
    assert result["order_id"] == order_id(scenario)
    return result


def _show_result(sagas, scenario: str) -> dict:
    _, shown = sagas[scenario]
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == "", shown.stderr
    result = one_json_line(shown)
    assert_show_shape(result, order_id(scenario))
    return result


def test_place_completes(sagas):
    result = _place_result(sagas, "ok")
    assert (result["run"], result["status"]) == ("COMPLETED", "COMPLETED")
    assert result["payment_id"] and result["shipment_id"]
    assert result["compensations"] == []
    assert result["error"] is None
    shown = _show_result(sagas, "ok")
    assert shown["workflow"] == {"status": "COMPLETED"}
    assert shown["payment"] == {"status": "CHARGED", "amount": AMOUNT, "net": AMOUNT}
    assert shown["order"] == {"status": "ACTIVE"}
    assert shown["shipping"]["status"] is not None


def test_place_again_attaches_to_the_first_run(sagas):
    first = _place_result(sagas, "ok")
    again = run_cli("place", order_id("ok"), "--amount", str(AMOUNT))
    assert again.returncode == 0, again.stderr
    assert again.stderr == "", again.stderr
    assert one_json_line(again) == first
    shown = one_json_line(run_cli("show", order_id("ok")))
    assert shown["payment"] == {"status": "CHARGED", "amount": AMOUNT, "net": AMOUNT}  # charged once


def test_shipment_failure_is_compensated_in_reverse(sagas):
    result = _place_result(sagas, "ship_permanent")
    assert (result["run"], result["status"]) == ("COMPLETED", "COMPENSATED")  # the saga did its job
    assert result["compensations"] == ["cancel_order", "refund"]
    assert result["shipment_id"] is None
    assert "create_shipment" in result["error"]
    shown = _show_result(sagas, "ship_permanent")
    assert shown["payment"]["net"] == 0 and shown["payment"]["amount"] == AMOUNT
    assert shown["order"] == {"status": "CANCELLED"}
    assert shown["shipping"] == {"status": None}


def test_declined_charge_needs_no_compensation(sagas):
    result = _place_result(sagas, "charge_permanent")
    assert result["status"] == "COMPENSATED"
    assert result["compensations"] == []
    assert result["payment_id"] is None
    assert "charge" in result["error"]
    shown = _show_result(sagas, "charge_permanent")
    assert {key: shown[key] for key in NULL_SERVICES} == NULL_SERVICES


def test_failed_refund_ends_failed_with_exit_0(sagas):
    placed, _ = sagas["refund_fails"]
    assert placed.returncode == 0
    result = _place_result(sagas, "refund_fails")
    assert (result["run"], result["status"]) == ("FAILED", "FAILED")  # a person must act
    assert "refund" in result["error"]
    shown = _show_result(sagas, "refund_fails")
    assert shown["payment"] == {"status": "CHARGED", "amount": AMOUNT, "net": AMOUNT}


def test_naive_workflow_leaves_the_charge_behind(sagas):
    result = _place_result(sagas, "naive")
    assert result["status"] == "FAILED"
    assert result["compensations"] == []
    shown = _show_result(sagas, "naive")
    assert shown["payment"]["net"] == AMOUNT
    assert shown["payment"]["amount"] == AMOUNT
    assert shown["order"] == {"status": "ACTIVE"}
    assert shown["shipping"] == {"status": None}


def test_transient_faults_are_retried(sagas):
    result = _place_result(sagas, "order_transient")
    assert result["status"] == "COMPLETED"
    assert result["compensations"] == [] and result["error"] is None


def test_lost_charge_reply_charges_once(sagas):
    result = _place_result(sagas, "charge_timeout")
    assert result["status"] == "COMPLETED"
    shown = _show_result(sagas, "charge_timeout")
    assert shown["payment"]["amount"] == AMOUNT
    assert shown["payment"]["net"] == AMOUNT


def test_place_prints_nothing_on_stderr(sagas):
    """The places ran at once on shared task queues, so each process's workers also held other
    processes' sagas; evicting those at exit (GeneratorExit) is neither a failure nor noise."""
    codes = {name: placed.returncode for name, (placed, _) in sagas.items()}
    assert codes == {name: 0 for name in SCENARIOS}
    noisy = {name: placed.stderr[:300] for name, (placed, _) in sagas.items() if placed.stderr}
    assert noisy == {}


def test_show_unknown_order_prints_nulls(session_server):
    unknown = f"cli-unknown-{RUN}"
    done = run_cli("show", unknown)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    shown = one_json_line(done)
    assert_show_shape(shown, unknown)
    assert shown["workflow"] == {"status": None}
    assert {key: shown[key] for key in NULL_SERVICES} == NULL_SERVICES


# ---------------------------------------------------------------- bad input: exit 2, one line, nothing done


def _bad(n: int) -> str:
    return f"cli-bad{n}-{RUN}"


#: (label, argv, order id that must not exist afterwards or None)
BAD_INPUTS = [
    ("amount 0", ["place", _bad(1), "--amount", "0"], _bad(1)),
    ("amount -5", ["place", _bad(2), "--amount", "-5"], _bad(2)),
    ("amount too large", ["place", _bad(3), "--amount", "1000001"], _bad(3)),
    ("amount 12.5", ["place", _bad(4), "--amount", "12.5"], _bad(4)),
    ("amount abc", ["place", _bad(5), "--amount", "abc"], _bad(5)),
    ("order id with a space", ["place", "a b", "--amount", "4999"], "a b"),
    ("order id ../etc", ["place", "../etc", "--amount", "4999"], "../etc"),
    ("order id of 65 chars", ["place", "x" * 65, "--amount", "4999"], "x" * 65),
    ("unknown step", ["place", _bad(6), "--amount", "4999", "--fail", "nope=transient"], _bad(6)),
    ("unknown kind", ["place", _bad(7), "--amount", "4999", "--fail", "charge=explode"], _bad(7)),
    ("count 0", ["place", _bad(8), "--amount", "4999", "--fail", "charge=transient:0"], _bad(8)),
    ("no kind", ["place", _bad(9), "--amount", "4999", "--fail", "charge"], _bad(9)),
    ("missing --amount", ["place", _bad(10)], _bad(10)),
    ("unknown flag", ["place", _bad(11), "--amount", "4999", "--bogus"], _bad(11)),
    ("unknown subcommand", ["frobnicate", _bad(12)], _bad(12)),
    ("no subcommand", [], None),
    ("show a bad order id", ["show", "../etc"], "../etc"),
    ("worker --service bogus", ["worker", "--service", "bogus"], None),
]
LABELS = [label for label, _, _ in BAD_INPUTS]


@pytest.fixture(scope="module")
def bad_runs(first_runs) -> dict[str, subprocess.CompletedProcess]:
    return dict(zip(LABELS, first_runs[1]))


@pytest.mark.parametrize("label", LABELS)
def test_bad_input_exits_2_with_one_line(bad_runs, label):
    done = bad_runs[label]
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert_one_error_line(done)


def test_worker_with_unknown_service_exits_2(bad_runs):
    done = bad_runs["worker --service bogus"]
    assert done.returncode == 2
    assert "bogus" in done.stderr


def _rows_for(order: str) -> dict[str, int]:
    """Rows naming ``order`` in each service database of the session's data directory."""
    home = Path(os.environ["SAGA_LAB_HOME"])
    counts = {}
    for db, table in (("payment.db", "ledger"), ("orders.db", "orders"), ("shipping.db", "shipments")):
        path = home / db
        if not path.exists():
            counts[table] = 0
            continue
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            counts[table] = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE order_id = ?", (order,)).fetchone()[0]
    return counts


def _workflow_exists(order: str, info: server.ServerInfo) -> bool:
    """Asked with the `temporal` CLI (a Go binary): no temporalio client in the pytest process."""
    try:
        connection.temporal_cli(["workflow", "describe", "--workflow-id", order, "--output", "json"], info=info)
    except server.ServerError as err:
        assert "not found" in str(err).lower(), err
        return False
    return True


def test_bad_input_starts_and_writes_nothing(bad_runs, session_server):
    from saga_lab.checkout import show_order

    ids = [order for _, _, order in BAD_INPUTS if order is not None]
    # Through the command, for a few ids `show` accepts ...
    shown_ids = [_bad(1), _bad(6), _bad(10)]
    for done, order in zip(run_many([("show", order) for order in shown_ids]), shown_ids):
        assert done.returncode == 0, done.stderr
        shown = one_json_line(done)
        assert shown["workflow"] == {"status": None}, order
        assert {key: shown[key] for key in NULL_SERVICES} == NULL_SERVICES, order
    # ... and for every id in Temporal (its own CLI) and in the three databases.
    with ThreadPoolExecutor(max_workers=4) as pool:
        exists = dict(zip(ids, pool.map(lambda order: _workflow_exists(order, session_server), ids)))
    assert [order for order, found in exists.items() if found] == []
    for order in ids:
        if " " not in order and "/" not in order and len(order) <= 64:
            shown = asyncio.run(show_order(None, order))  # the services' side of `show`
            assert {key: shown[key] for key in NULL_SERVICES} == NULL_SERVICES, order
        assert _rows_for(order) == {"ledger": 0, "orders": 0, "shipments": 0}, order


def test_bad_input_starts_no_embedded_server(tmp_path):
    """Without TEMPORAL_ADDRESS, bad input must not start (or even create the home of) a server."""
    home = tmp_path / "never-created"
    port, ui_port = server.free_port(), server.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.update(SAGA_LAB_HOME=str(home), SAGA_LAB_PORT=str(port), SAGA_LAB_UI_PORT=str(ui_port))
    labels = ["amount 0", "order id ../etc", "unknown kind"]
    argvs = {label: argv for label, argv, _ in BAD_INPUTS}
    runs = run_many([tuple(argvs[label]) for label in labels], env=env)
    for label, done in zip(labels, runs):
        assert done.returncode == 2, (label, done.stderr)
        assert_one_error_line(done)
    assert not home.exists()
    assert not server.port_in_use(port) and not server.port_in_use(ui_port)


# ---------------------------------------------------------------- the server cannot be reached: exit 1


@pytest.fixture(scope="module")
def dead_env() -> dict:
    port = server.free_port()
    assert not server.port_in_use(port)
    return {**os.environ, "TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}


@pytest.mark.parametrize(
    "argv",
    [
        ["place", f"cli-unreachable-{RUN}", "--amount", "4999"],
        ["show", f"cli-unreachable-{RUN}"],
        ["worker", "--service", "payment"],
    ],
    ids=["place", "show", "worker"],
)
def test_unreachable_server_exits_1_with_one_line(dead_env, argv):
    done = run_cli(*argv, env=dead_env, timeout=30)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert_one_error_line(done)
    assert dead_env["TEMPORAL_ADDRESS"] in done.stderr


# ---------------------------------------------------------------- worker: runs until SIGINT


def _worker_until_sigint(env: dict) -> tuple[str, int, str, float]:
    """(first stdout line, exit code, stderr, seconds from SIGINT to exit)."""
    proc = subprocess.Popen(
        [str(SAGA_LAB), "worker", "--service", "payment"],
        cwd=REPO,
        env=env,
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the worker printed nothing within 30 s"
        line = proc.stdout.readline()
        time.sleep(0.5)  # let it poll
        assert proc.poll() is None, proc.stderr.read()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rest, stderr = proc.communicate(timeout=15)
        return line + rest, proc.returncode, stderr, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_worker_stops_on_sigint(session_server):
    output, code, stderr, elapsed = _worker_until_sigint(dict(os.environ))
    assert output.count("\n") == 1, output  # its one line, nothing more
    assert "payment" in output and session_server.address in output
    assert code in (0, 130), (code, stderr)
    assert "Traceback" not in stderr, stderr  # and it exited within _worker_until_sigint's bound


def _tgkill(pid: int, tid: int, signum: int) -> None:
    """Send ``signum`` to one thread ``tid`` of process ``pid`` (glibc's tgkill)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill({pid}, {tid}) failed")


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="threads are listed in /proc on Linux only")
def test_worker_stops_on_a_sigint_that_another_thread_takes(session_server):
    """The kernel hands a process's SIGINT to any of its threads; the SDK's Rust threads take it under load.

    Sent to one of those threads on purpose, it must stop the idle worker as promptly as one the main
    thread takes (before the fix, asyncio.run's handler waited for the loop's next wake-up: a minute).
    """
    proc = subprocess.Popen(
        [str(SAGA_LAB), "worker", "--service", "payment"],
        text=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready and "payment" in proc.stdout.readline()
        time.sleep(0.5)  # let it poll: the main thread sleeps in the event loop
        others = [int(tid) for tid in os.listdir(f"/proc/{proc.pid}/task") if int(tid) != proc.pid]
        assert others, "the worker runs the SDK's threads beside its main thread"
        _tgkill(proc.pid, others[-1], signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr


# ---------------------------------------------------------------- exit: the command's code, every time

#: Concurrent `show` runs: each connects a temporalio client, the case that used to die in
#: interpreter finalization (SIGABRT/SIGSEGV, temporalio sdk-python#300) about one run in five.
CONCURRENT_SHOWS = 12


def test_cli_never_crashes_at_exit(session_server):
    orders = [f"cli-crash-{n}-{RUN}" for n in range(CONCURRENT_SHOWS)]
    with ThreadPoolExecutor(max_workers=CONCURRENT_SHOWS) as pool:
        runs = list(pool.map(lambda order: run_cli("show", order), orders))
    codes = [(done.returncode, done.stderr[:200]) for done in runs]
    assert codes == [(0, "")] * CONCURRENT_SHOWS
    for done, order in zip(runs, orders):
        shown = one_json_line(done)  # the whole result reached stdout before the exit
        assert_show_shape(shown, order)
        assert shown["workflow"] == {"status": None}


# ---------------------------------------------------------------- work that lands after its compensation

LATE = {  # step -> (what the three services say once the late work has landed)
    "charge": {"payment": {"status": "REFUNDED", "amount": 4250, "net": 0}, "order": None, "shipping": None},
    "create_order": {
        "payment": {"status": "REFUNDED", "amount": 4250, "net": 0},
        "order": "CANCELLED",
        "shipping": None,
    },
    "create_shipment": {
        "payment": {"status": "REFUNDED", "amount": 4250, "net": 0},
        "order": "CANCELLED",
        "shipping": None,
    },
}


@pytest.mark.slow
def test_work_that_lands_after_its_compensation_is_reversed_or_refused(session_server):
    """``late:5``: every attempt's work lands after the saga gave up and undid the step.
    ``place`` prints its result, then waits for the held work to land; ``show`` then
    finds the order undone: a late charge reversed, a late order or shipment refused."""
    ids = {step: f"cli-late-{step.replace('_', '')}-{RUN}" for step in LATE}
    runs = run_many([("place", ids[step], "--amount", "4250", "--fail", f"{step}=late:5") for step in LATE])
    # The three processes' workers share the task queues: any of them may hold a step's late
    # work, and each waits for what it holds before it exits. So count the landings over all.
    # A process holding an early attempt lands it after the latest attempt any of them holds
    # (faults.LATE_DIR): on its own estimate, a late shipment could be booked before its undo.
    stderr = "".join(done.stderr for done in runs)
    assert "Traceback" not in stderr
    for step, done in zip(LATE, runs, strict=True):
        assert done.returncode == 0, done.stderr
        placed = one_json_line(done)
        assert placed["status"] == "COMPENSATED" and placed["error"].startswith(f"{step}: "), placed
        assert stderr.count(f"late {step} (attempt") == 5, stderr  # every held attempt landed
        shown = json.loads(run_cli("show", ids[step]).stdout)
        expected = LATE[step]
        landings = "".join(line + "\n" for line in stderr.splitlines() if f"late {step} (attempt" in line)
        assert shown["payment"] == expected["payment"], (shown, landings)
        assert shown["order"]["status"] == expected["order"], (shown, landings)
        assert shown["shipping"]["status"] == expected["shipping"], (shown, landings)
    charge_rows = _ledger_kinds(ids["charge"])
    assert charge_rows == ["charge", "refund"], charge_rows  # the late charge landed, and was reversed at once


def _ledger_kinds(order_id: str) -> list[str]:
    with closing(sqlite3.connect(Path(os.environ["SAGA_LAB_HOME"]) / "payment.db")) as conn:
        rows = conn.execute("SELECT kind FROM ledger WHERE order_id = ? ORDER BY seq", (order_id,)).fetchall()
    return [kind for (kind,) in rows]
