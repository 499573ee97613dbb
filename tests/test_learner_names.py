"""A room of learners on one server, wherever their notebooks run.

* **Names**: on JupyterHub, Binder, Codespaces and devcontainers every learner's OS user is the same
  (``jovyan``, ``vscode``, ``codespace``, ``root``). JupyterHub's and Codespaces' own user names
  (``JUPYTERHUB_USER``, ``GITHUB_USER``) are taken when set; otherwise such a generic OS user gets the
  host name after it, which is one per container, pod or VM: two learners never share a name, and
  nobody is stopped to set one. ``SAGA_LAB_LEARNER`` wins over all. The OS user name is set through
  ``LOGNAME``, the first place Python's ``getpass.getuser()`` looks.
* **Names in front**: ``task_queue`` and ``workflow_id`` put the learner's name, then a run's own part
  or the notebook's scope, in front.
* **``saga-lab chaos`` from a shell** takes task queues of its own (``chaos/...``), so the workers of
  a notebook open beside it (same learner, same server) never take its tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from saga_lab import connection, history
from saga_lab.notebook import Lab
from saga_lab.worker import BackgroundWorkers

try:  # tests/ may or may not become a package
    from .helpers import dev_server, saga_lab_command
except ImportError:
    from helpers import dev_server, saga_lab_command

SAGA_LAB = saga_lab_command()
NAME_SETTINGS = ("SAGA_LAB_LEARNER", "JUPYTERHUB_USER", "CODESPACES", "GITHUB_USER", "LOGNAME", "USER")


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> str:
    with dev_server(tmp_path_factory.mktemp("room")) as address:
        yield address


@pytest.fixture
def no_names(monkeypatch):
    for name in NAME_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def cli(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SAGA_LAB), *args], capture_output=True, text=True, env=env, timeout=timeout, stdin=subprocess.DEVNULL
    )


def learner_env(address: str | None, home: Path, **names: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", *NAME_SETTINGS))}
    env.update(SAGA_LAB_HOME=str(home), **names)
    if address:
        env["TEMPORAL_ADDRESS"] = address
    return env


def workflow_ids(address: str) -> list[str]:
    from saga_lab import server

    command = [str(server.temporal_cli_path()), "workflow", "list", "--address", address, "--output", "json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    return sorted(run["execution"]["workflowId"] for run in json.loads(done.stdout or "[]"))


# ---------------------------------------------------------------- which name

HOST = connection.with_host("x").removeprefix("x-")  # this machine's host name, as a name


@pytest.mark.parametrize(
    "names, expected",
    [
        ({"SAGA_LAB_LEARNER": "Ada", "JUPYTERHUB_USER": "grace", "LOGNAME": "jovyan"}, "ada"),
        ({"JUPYTERHUB_USER": "grace.hopper@navy.mil", "LOGNAME": "jovyan"}, "grace-hopper-navy-mil"),
        ({"CODESPACES": "true", "GITHUB_USER": "octocat", "LOGNAME": "codespace"}, "octocat"),
        ({"LOGNAME": "margaret"}, "margaret"),
        ({"LOGNAME": "jovyan", "GITHUB_USER": "octocat"}, f"jovyan-{HOST}"),  # outside a Codespace: not a name
        ({"LOGNAME": "vscode"}, f"vscode-{HOST}"),
        ({"LOGNAME": "root"}, f"root-{HOST}"),
    ],
    ids=["SAGA_LAB_LEARNER first", "JupyterHub", "Codespaces", "a personal user", "jovyan", "vscode", "root"],
)
def test_the_learner_name_comes_from_the_place_that_knows_the_person(no_names, names, expected):
    for name, value in names.items():
        no_names.setenv(name, value)
    assert connection.learner() == expected


def test_a_generic_user_on_two_hosts_is_two_names():
    pods = ["jupyter-ada", "jupyter-bob", "codespaces-5f2b1a", "3f2a9c1b7e5d", "binder-examples-requirements-8a1b2c"]
    names = [connection.with_host("jovyan", pod) for pod in pods]
    assert names[:4] == ["jovyan-jupyter-ada", "jovyan-jupyter-bob", "jovyan-codespaces-5f2b1a", "jovyan-3f2a9c1b7e5d"]
    long_twin = connection.with_host("jovyan", "binder-examples-requirements-9f9f9f")  # same start, other end
    assert len({*names, long_twin}) == 6 and all(len(n) <= 32 for n in [*names, long_twin])


def test_on_a_shared_server_a_generic_user_needs_to_set_nothing(shared_server, tmp_path):
    placed = cli("place", "ORD-R", "--amount", "100", env=learner_env(shared_server, tmp_path, LOGNAME="jovyan"))
    assert json.loads(placed.stdout)["status"] == "COMPLETED", placed.stderr
    hub = learner_env(shared_server, tmp_path, LOGNAME="jovyan", JUPYTERHUB_USER="grace")
    placed = cli("place", "ORD-R", "--amount", "100", env=hub)
    assert json.loads(placed.stdout)["status"] == "COMPLETED", placed.stderr
    assert workflow_ids(shared_server) == sorted([f"jovyan-{HOST}/ORD-R", "grace/ORD-R"])

    bad = cli("place", "ORD-B", "--amount", "100", env={**hub, "SAGA_LAB_LEARNER": "ada lovelace"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "SAGA_LAB_LEARNER" in bad.stderr, bad.stderr
    assert workflow_ids(shared_server) == sorted([f"jovyan-{HOST}/ORD-R", "grace/ORD-R"])  # nothing started


def test_on_your_own_server_nothing_is_put_in_front(session_server):
    env = learner_env(None, Path(os.environ["SAGA_LAB_HOME"]), LOGNAME="jovyan")
    order_id = f"ORD-OWN-{os.getpid()}"
    placed = cli("place", order_id, "--amount", "100", env=env)
    assert placed.returncode == 0 and json.loads(placed.stdout)["status"] == "COMPLETED", placed.stderr
    assert order_id in workflow_ids(session_server.address)


# ---------------------------------------------------------------- names in front


async def test_names_carry_the_learner_then_a_run_or_the_scope(shared_server, session_server, monkeypatch):
    monkeypatch.setenv("SAGA_LAB_LEARNER", "ada")
    monkeypatch.delenv(connection.SCOPE_ENV, raising=False)
    shared = await connection.connect(connection.ServerInfo(shared_server, "default", None, False))
    own = await connection.connect(session_server)
    assert connection.task_queue(shared, "payment") == "ada/payment-task-queue"
    assert connection.task_queue(own, "payment") == "payment-task-queue"
    assert connection.workflow_id(shared, "ORD-1") == "ada/ORD-1"
    assert connection.workflow_id(own, "ORD-1") == "ORD-1"
    room = connection.ServerInfo(shared_server, "default", None, False)
    assert "your runs under ada/" in repr(Lab(room, shared, None))
    assert "your runs" not in repr(Lab(session_server, own, None))  # what a learner's first cell prints
    monkeypatch.setenv(connection.SCOPE_ENV, "nb08")
    assert connection.task_queue(shared, "workflow", run="ex11-3f2a9c") == "ada/ex11-3f2a9c/order-saga-task-queue"
    assert connection.task_queue(shared, "payment") == "ada/nb08/payment-task-queue"
    assert connection.task_queue(shared, "nb01-queue-3f2a9c") == "ada/nb01-queue-3f2a9c"  # fresh: needs no scope
    assert connection.workflow_id(shared, "ORD-1") == "ada/ORD-1"  # an id never carries the scope
    for bad in ("", "ada/queue", "a queue"):
        with pytest.raises(ValueError, match="neither a service"):
            connection.task_queue(shared, bad)


# ---------------------------------------------------------------- chaos from a shell


def _charges(home: Path) -> int:
    with closing(sqlite3.connect(home / "payment.db")) as db:
        return db.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]


async def test_chaos_from_a_shell_never_meets_an_open_notebooks_workers(session_server, tmp_path, monkeypatch):
    """A notebook's workers (this test's, unscoped, on the same server and learner) poll all through a chaos run."""
    monkeypatch.delenv(connection.SCOPE_ENV, raising=False)
    client = await connection.connect(session_server)
    notebook_home = tmp_path / "notebook"
    async with BackgroundWorkers(client, home=notebook_home):
        env = {k: v for k, v in os.environ.items() if k != connection.SCOPE_ENV}
        proc = await asyncio.create_subprocess_exec(
            str(SAGA_LAB), "chaos", "--sagas", "3", "--fault-rate", "0", "--seed", "7", "--json",
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    assert summary["status"]["COMPLETED"] == 3, summary
    assert _charges(notebook_home) == 0  # the notebook's payment worker charged nothing of the chaos run

    run = await history.fetch(client, f"{summary['order_id_prefix']}0")
    queues = {event.task_queue for event in history.events(run) if event.task_queue}
    assert queues == {"chaos/order-saga-task-queue", "chaos/payment-task-queue", "chaos/order-task-queue"} | {
        "chaos/shipping-task-queue"
    }, queues
