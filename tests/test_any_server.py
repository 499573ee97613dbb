"""The saga on any Temporal server, not only the embedded one.

* A **plain dev server** (``temporal server start-dev``, no flags: no custom search
  attributes), as a new user or a workshop's instructor starts it. Every ``saga-lab``
  command runs there; on connect the saga's search attributes are registered.
* A server that **refuses** to add search attributes: the time-skipping test server has
  no operator service at all (a cloud namespace refuses too). The saga runs without
  them, and one line says what is lost.
* An address where **nothing listens**: every command says so in one line, exit 1.
* **Two learners on one server**: the same order ids, two data directories, at once;
  one learner runs a standalone payment worker. No task of one learner is run by the
  other's workers.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from saga_lab import server

try:  # tests/ may or may not become a package
    from .helpers import saga_lab_command
except ImportError:
    from helpers import saga_lab_command

SAGA_LAB = saga_lab_command()


def start_plain_dev_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    """``temporal server start-dev`` with no search attributes, in memory, on free loopback ports."""
    port, ui_port = server.free_port(), server.free_port()
    command = [
        str(server.temporal_cli_path()),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--ui-port",
        str(ui_port),
        "--log-level",
        "error",
    ]
    with open(tmp / "plain-server.log", "ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        if server.is_temporal(address, timeout=1.0):
            return proc, address
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"the plain dev server did not start: {(tmp / 'plain-server.log').read_text()[-500:]}")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory) -> Iterator[str]:
    proc, address = start_plain_dev_server(tmp_path_factory.mktemp("plain"))
    try:
        yield address
    finally:
        stop(proc)


def env_for(address: str, home: Path, learner: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_"))}
    env.update(TEMPORAL_ADDRESS=address, SAGA_LAB_HOME=str(home))
    if learner:
        env["SAGA_LAB_LEARNER"] = learner
    return env


def cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SAGA_LAB), *args], capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL
    )


def search_attributes(address: str) -> str:
    done = subprocess.run(
        [str(server.temporal_cli_path()), "operator", "search-attribute", "list", "--address", address],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout


def no_traceback(done: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr


# ---------------------------------------------------------------- a plain dev server


def test_every_command_works_on_a_plain_dev_server(plain_server, tmp_path):
    env = env_for(plain_server, tmp_path / "home", learner="plain")
    assert "OrderStatus" not in search_attributes(plain_server)  # a plain server has none of ours

    placed = cli("place", "ORD-1", "--amount", "4250", env=env)
    no_traceback(placed)
    assert placed.returncode == 0, placed.stderr
    assert json.loads(placed.stdout)["status"] == "COMPLETED"
    listed = search_attributes(plain_server)
    assert "OrderStatus" in listed and "FailedStep" in listed  # registered on connect

    undone = cli("place", "ORD-2", "--amount", "4250", "--fail", "create_shipment=permanent", env=env)
    assert json.loads(undone.stdout)["compensations"] == ["cancel_order", "refund"], undone.stderr

    shown = cli("show", "ORD-1", env=env)
    no_traceback(shown)
    assert json.loads(shown.stdout)["workflow"]["status"] == "COMPLETED"
    assert json.loads(shown.stdout)["payment"] == {"status": "CHARGED", "amount": 4250, "net": 4250}

    status = cli("server", "status", env=env)  # about the embedded server: there is none here
    no_traceback(status)
    assert status.returncode == 0 and "not running" in status.stdout

    chaos = cli("chaos", "--sagas", "4", "--fault-rate", "0.5", "--seed", "3", "--json", env=env, timeout=300)
    no_traceback(chaos)
    assert chaos.returncode == 0, chaos.stderr
    summary = json.loads(chaos.stdout)
    assert summary["ok"] is True, summary  # every order consistent, none lost

    worker = subprocess.Popen(
        [str(SAGA_LAB), "worker", "--service", "payment"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        line = worker.stdout.readline()
        assert "plain/payment-task-queue" in line, line  # the learner's own queue
    finally:
        worker.send_signal(signal.SIGINT)
        _, err = worker.communicate(timeout=30)
    assert "Traceback" not in err, err


def test_a_server_that_refuses_search_attributes_runs_the_saga_without_them(tmp_path):
    """The time-skipping test server has no operator service: adding search attributes fails."""
    script = textwrap.dedent(f"""
        import asyncio, json, os, sys
        from temporalio.testing import WorkflowEnvironment
        from saga_lab import connection, server
        from saga_lab.checkout import place_order
        from saga_lab.worker import BackgroundWorkers

        async def main():
            env = await WorkflowEnvironment.start_time_skipping(
                test_server_existing_path=str(server.test_server_path()))
            try:
                info = server.ServerInfo(env.client.service_client.config.target_host, "default", None, False)
                client = await connection.connect(info)
                async with BackgroundWorkers(client, home={str(tmp_path)!r}):
                    result = await place_order(client, "ORD-TS", 4250)
                print(json.dumps({{"status": result.status, "ready": connection.search_attributes_ready(client)}}))
            finally:
                await env.shutdown()
        asyncio.run(main())
        sys.stdout.flush()
        os._exit(0)  # as `saga-lab` leaves: interpreter shutdown after a client can SIGABRT (sdk-python#300)
    """)
    env = env_for("unused:1", tmp_path)
    env.pop("TEMPORAL_ADDRESS")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"status": "COMPLETED", "ready": False}
    said = [line for line in done.stderr.splitlines() if "search attributes" in line]
    assert len(said) == 1 and "notebook 09" in said[0], done.stderr  # one line says what is lost
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- nothing listens


@pytest.mark.parametrize(
    "argv",
    [["place", "ORD-X", "--amount", "4999"], ["show", "ORD-X"], ["worker"], ["chaos", "--sagas", "2"], ["lab"]],
    ids=["place", "show", "worker", "chaos", "lab"],
)
def test_every_command_says_in_one_line_that_nothing_listens(tmp_path, argv):
    dead = f"127.0.0.1:{server.free_port()}"
    done = cli(*argv, env=env_for(dead, tmp_path / "home"), timeout=60)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("saga-lab: ") and dead in done.stderr


# ---------------------------------------------------------------- two learners, one server

LEARNER_SCRIPT = """
import asyncio, json, os, sys
from saga_lab import connection
from saga_lab.checkout import place_order
from saga_lab.worker import BackgroundWorkers

async def main(base):
    client = await connection.connect(connection.ensure_server())
    async with BackgroundWorkers(client):
        results = await asyncio.gather(*(place_order(client, f"ORD-{i}", base + i) for i in range(1, 21)))
    print(json.dumps([r.status for r in results]))

asyncio.run(main(int(sys.argv[1])))
sys.stdout.flush()
os._exit(0)  # as `saga-lab` leaves: interpreter shutdown after a client can SIGABRT (temporalio sdk-python#300)
"""


def _rows(home: Path) -> dict[str, list]:
    def query(db: str, sql: str) -> list:
        with closing(sqlite3.connect(home / db)) as conn:
            return conn.execute(sql).fetchall()

    return {
        "charges": sorted(query("payment.db", "SELECT order_id, amount FROM ledger WHERE kind = 'charge'")),
        "orders": sorted(query("orders.db", "SELECT order_id, amount, status FROM orders")),
        "shipments": sorted(query("shipping.db", "SELECT order_id, status FROM shipments")),
    }


@pytest.mark.slow
def test_two_learners_on_one_server_never_take_each_others_work(plain_server, tmp_path):
    """Ada runs a standalone payment worker; both place ORD-1..ORD-20 at once, with other amounts."""
    homes = {"ada": tmp_path / "ada", "bob": tmp_path / "bob"}
    bases = {"ada": 1000, "bob": 2000}
    standalone = subprocess.Popen(
        [str(SAGA_LAB), "worker", "--service", "payment"],
        text=True,
        env=env_for(plain_server, homes["ada"], "ada"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert "ada/payment-task-queue" in standalone.stdout.readline()
        placing = {
            name: subprocess.Popen(
                [sys.executable, "-c", LEARNER_SCRIPT, str(bases[name])],
                text=True,
                env=env_for(plain_server, home, name),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for name, home in homes.items()
        }
        outputs = {name: proc.communicate(timeout=300) for name, proc in placing.items()}
    finally:
        standalone.send_signal(signal.SIGINT)
        standalone.communicate(timeout=30)
    for name, (out, err) in outputs.items():
        assert placing[name].returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == ["COMPLETED"] * 20, (name, err)
    for name, home in homes.items():
        base = bases[name]
        rows = _rows(home)
        assert rows["charges"] == sorted((f"ORD-{i}", base + i) for i in range(1, 21)), name
        assert rows["orders"] == sorted((f"ORD-{i}", base + i, "ACTIVE") for i in range(1, 21)), name
        assert rows["shipments"] == sorted((f"ORD-{i}", "CREATED") for i in range(1, 21)), name


# ---------------------------------------------------------------- a notebook's own task queues


def test_a_scope_gives_a_notebook_task_queues_of_its_own(plain_server, tmp_path):
    env = env_for(plain_server, tmp_path / "home", learner="ada")
    env["SAGA_LAB_QUEUE_SCOPE"] = "nb08"
    worker = subprocess.Popen(
        [str(SAGA_LAB), "worker", "--service", "shipping"],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        line = worker.stdout.readline()
    finally:
        worker.send_signal(signal.SIGINT)
        worker.communicate(timeout=30)
    assert "ada/nb08/shipping-task-queue" in line, line
    placed = cli("place", "ORD-SCOPED", "--amount", "100", env=env)
    assert json.loads(placed.stdout)["status"] == "COMPLETED", placed.stderr  # its own workers, its own queues

    env["SAGA_LAB_QUEUE_SCOPE"] = "nb 08"
    refused = cli("place", "ORD-BAD-SCOPE", "--amount", "100", env=env)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert "SAGA_LAB_QUEUE_SCOPE" in refused.stderr and "Traceback" not in refused.stderr
