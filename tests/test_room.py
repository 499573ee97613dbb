"""The room: learners' verdicts in one table for the instructor, on a real Temporal server.

* **Three learners on one server**, one of them stuck: each learner's verdicts go through
  ``saga_lab.verdicts.record`` in a process of their own (``SAGA_LAB_LEARNER``, ``TEMPORAL_ADDRESS``),
  the room runs in ``saga-lab room start`` (a process), and ``saga-lab room`` prints the table. The
  room's worker is then SIGKILLed; a verdict sent meanwhile is kept, and once the worker is started
  again the table shows it.
* **Continue-as-new keeps the state**: a room that continues every 5 verdicts, sent 12, knows all 12,
  and its history replays.
* **A learner without a room** sees no difference: no address set, no room on the server, or no server
  at all: ``record`` returns within a moment and prints nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Replayer

from saga_lab import room, server
from saga_lab.workflows.room import Attempt, Change, RoomState, RoomWorkflow

try:  # tests/ may or may not become a package
    from .helpers import saga_lab_command, wait_gone
except ImportError:
    from helpers import saga_lab_command, wait_gone

SAGA_LAB = saga_lab_command()
#: Each learner's check runs in a process of its own, as in a notebook kernel: one verdict per argument.
#: It leaves with ``os._exit``, as the ``saga-lab`` command does: a process that used a temporalio client can
#: crash in interpreter shutdown (temporalio sdk-python#300; measured here: 1 exit in 12 with or without the room).
RECORD = textwrap.dedent("""
    import os, sys
    from saga_lab import verdicts
    for spec in sys.argv[1:]:
        exercise, word, message = spec.split("|")
        verdicts.record(exercise, word == "PASS", message)
    sys.stdout.flush()
    os._exit(0)
""")


@pytest.fixture(scope="module")
def room_server(tmp_path_factory) -> Iterator[server.ServerInfo]:
    """A Temporal dev server of this module's own, which every learner reaches by ``TEMPORAL_ADDRESS``."""
    settings = server.ServerSettings(
        home=tmp_path_factory.mktemp("room-server"), port=server.free_port(), ui_port=server.free_port()
    )
    info = server.start(settings)
    try:
        yield info
    finally:
        server.stop(settings)


def env_for(info: server.ServerInfo, home: Path, learner: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_"))}
    env.update(TEMPORAL_ADDRESS=info.address, SAGA_LAB_HOME=str(home), PYTHONHASHSEED="0")
    if learner:
        env["SAGA_LAB_LEARNER"] = learner
    return env


def record(env: dict[str, str], *verdicts: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", RECORD, *verdicts], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


def saga_lab(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SAGA_LAB), *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def start_room(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``saga-lab room start`` as the instructor runs it; returns once it said the room is open."""
    sink = log.open("a")
    process = subprocess.Popen(
        [str(SAGA_LAB), "room", "start"],
        env=env,
        stdout=sink,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    sink.close()
    deadline = time.monotonic() + 30
    while "open on" not in log.read_text():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    return process


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert wait_gone(process.pid)


def show(env: dict[str, str]) -> dict:
    done = saga_lab("room", "--json", env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return json.loads(done.stdout)


def words(state: dict) -> dict[str, dict[str, str]]:
    return {
        learner: {exercise: "PASS" if a["passed"] else "NOT YET" for exercise, a in tried.items()}
        for learner, tried in state["learners"].items()
    }


# ---------------------------------------------------------------- three learners, one stuck


@pytest.mark.slow
def test_three_learners_one_stuck_and_the_room_outlives_its_worker(room_server, tmp_path):
    instructor = env_for(room_server, tmp_path / "instructor")
    learners = {name: env_for(room_server, tmp_path / name, name) for name in ("ada", "bob", "cyd")}
    log = tmp_path / "room.log"
    worker = start_room(instructor, log)
    try:
        record(learners["ada"], "e01|PASS|PASS: the greeting is right", "e02|PASS|PASS: one charge per key")
        record(
            learners["bob"],
            "e01|NOT YET|NOT YET: the workflow never called an activity",
            "e01|PASS|PASS: the greeting is right",
            "e02|PASS|PASS: one charge per key",
        )
        stuck = "NOT YET: charge ran 3 attempts with 3 different idempotency keys\nsecond line never travels"
        record(learners["cyd"], "e01|PASS|PASS: the greeting is right", f"e02|NOT YET|{stuck}", f"e02|NOT YET|{stuck}")

        table = saga_lab("room", env=instructor)
        assert table.returncode == 0, table.stderr
        print(table.stdout)  # the room table of this test (pytest -s shows it)
        lines = table.stdout.splitlines()
        assert lines[0].startswith("room 'room': 3 learner(s), 8 verdict(s), 1 stuck"), lines[0]
        rows = {
            line.split()[0]: line.split(maxsplit=1)[1] for line in lines if line.startswith(("ada ", "bob ", "cyd "))
        }
        assert rows == {"ada": "PASS  PASS", "bob": "PASS  PASS", "cyd": "PASS  NOT YET"}, table.stdout
        e02 = next(line for line in lines if line.startswith("e02 "))
        assert "1 x charge ran 3 attempts with 3 different idempotency keys" in e02 and e02.endswith("cyd"), e02
        assert "second line" not in table.stdout  # only the first line travels

        state = show(instructor)
        assert state["learners"]["cyd"]["e02"]["tries"] == 2 and state["learners"]["bob"]["e01"]["tries"] == 2
        assert [(c["learner"], c["exercise"], c["passed"]) for c in state["changes"]][2:4] == [
            ("bob", "e01", False),
            ("bob", "e01", True),
        ]

        kill(worker)  # the room's worker dies; the room (the workflow) does not
        record(learners["cyd"], "e02|PASS|PASS: one charge per key")  # accepted by the server meanwhile
        missing = saga_lab("room", env=instructor)
        assert missing.returncode == 1 and missing.stderr.count("\n") == 1, missing.stderr
        assert "worker is not running" in missing.stderr and "saga-lab room start" in missing.stderr

        worker = start_room(instructor, log)  # a new worker replays the room's history
        state = show(instructor)
        assert words(state) == {
            "ada": {"e01": "PASS", "e02": "PASS"},
            "bob": {"e01": "PASS", "e02": "PASS"},
            "cyd": {"e01": "PASS", "e02": "PASS"},
        }
        assert state["verdicts"] == 9
        closed = saga_lab("room", "close", env=instructor)
        assert closed.stdout.startswith("closed: room 'room': 3 learner(s), 9 verdict(s), 0 stuck"), closed.stderr
    finally:
        kill(worker)
    assert "Traceback" not in log.read_text()


# ---------------------------------------------------------------- continue-as-new


async def test_continue_as_new_keeps_the_state_and_the_history_replays(room_server):
    client = await Client.connect(room_server.address)
    name = f"can-{os.getpid()}"
    async with room.room_worker(client):
        handle = await room.open_room(client, name, continue_every=5)
        for i in range(12):
            learner = f"learner{i % 3}"
            await handle.signal(RoomWorkflow.verdict, room.Verdict(learner, f"e0{i % 4}", i % 2 == 0, f"try {i}", i))
        deadline = time.monotonic() + 30
        while (state := await room.progress(client, name)).verdicts < 12:
            assert time.monotonic() < deadline, state
            await asyncio.sleep(0.1)
        # It continued as new at least once (after 5 verdicts, or more when signals came in one batch).
        assert state.runs >= 1, state
        assert sorted(state.learners) == ["learner0", "learner1", "learner2"]
        assert sum(a.tries for tried in state.learners.values() for a in tried.values()) == 12
        assert state.learners["learner2"]["e03"] == Attempt(False, "try 11", 11, 1)
        closed = await room.close_room(client, name)
    assert closed.verdicts == 12 and closed.runs == state.runs and closed.learners == state.learners
    histories, run_id = [], handle.first_execution_run_id or handle.result_run_id
    while run_id:  # the chain of runs: each ends by naming the next
        history = await client.get_workflow_handle(handle.id, run_id=run_id).fetch_history()
        histories.append(history)
        last = history.events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    assert len(histories) == state.runs + 1
    assert max(len(h.events) for h in histories) < 60, [len(h.events) for h in histories]  # each run stays small
    for history in histories:
        await Replayer(workflows=[RoomWorkflow]).replay_workflow(history)


# ---------------------------------------------------------------- a learner without a room


def test_a_learner_without_a_room_sees_no_difference(room_server, tmp_path):
    """No output, and no wait beyond the report's bound; on a learner's own server no room is even looked for."""
    script = textwrap.dedent("""
        import os, time
        from saga_lab import room, verdicts
        began = time.monotonic()
        verdicts.record("e01", False, "NOT YET: the workflow never called an activity")
        print(f"{time.monotonic() - began:.3f} {room.room_server() is None}", flush=True)
        os._exit(0)
    """)
    own = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_ROOM"))}
    nobody = f"127.0.0.1:{server.free_port()}"
    cases = {
        "own server": own,  # a learner's own embedded server: nothing is looked up at all
        "no room on the shared server": env_for(room_server, tmp_path / "ada", "ada"),
        "nothing listens": {**own, "SAGA_LAB_ROOM": nobody},
    }
    for case, env in cases.items():
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stderr == "", (case, done.stderr)
        seconds, no_room_address = done.stdout.split()  # the only output: the time the call took, and the lookup
        assert no_room_address == str(case == "own server"), (case, no_room_address)
        assert float(seconds) < room.REPORT_WAIT_S + 0.5, (case, seconds)


async def test_report_verdict_says_whether_it_arrived(room_server, monkeypatch):
    monkeypatch.delenv("SAGA_LAB_ROOM", raising=False)
    monkeypatch.delenv("TEMPORAL_ADDRESS", raising=False)
    monkeypatch.setenv("SAGA_LAB_LEARNER", "ada")
    assert room.report_verdict("e01", True, "x") is False  # no room address: nothing sent
    monkeypatch.setenv("SAGA_LAB_ROOM", room_server.address)  # the room's server, not the learner's
    assert room.report_verdict("e01", True, "x") is False  # no room on that server
    client = await Client.connect(room_server.address)
    async with room.room_worker(client):
        await room.open_room(client)
        # A check runs in the notebook's event loop: the report must not need it (it runs in a thread of its own).
        assert room.report_verdict("e03", False, "NOT YET: no undo was scheduled\nmore") is True
        state = await room.close_room(client)
    assert state.learners == {"ada": {"e03": Attempt(False, "no undo was scheduled", state.learners["ada"]["e03"].at)}}


def test_the_room_commands_say_what_is_wrong_in_one_line(room_server, tmp_path):
    env = env_for(room_server, tmp_path / "instructor")
    cases = [
        (["room", "--name", "nope"], 1, "no room 'nope'"),
        (["room", "close", "--name", "nope"], 1, "no room 'nope' is open"),
        (["room", "--name", "a b"], 2, "--name 'a b'"),
        (["room", "start", "--watch", "5"], 2, "--watch"),
    ]
    for argv, code, words in cases:
        done = saga_lab(*argv, env=env)
        assert (done.returncode, done.stdout) == (code, ""), (argv, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and words in done.stderr and "Traceback" not in done.stderr, done.stderr


# ---------------------------------------------------------------- what the instructor reads (pure)


def test_the_tables_from_a_state():
    state = RoomState(
        name="room",
        learners={
            "ada": {"e01": Attempt(True, "", 1.0), "e02": Attempt(False, "charge ran twice", 2.0, 3)},
            "bob": {"e01": Attempt(False, "no activity", 1.5)},
            "cyd": {"e02": Attempt(False, "charge ran twice", 3.0)},
        },
        changes=[Change(1.0, "ada", "e01", True)],
        verdicts=6,
    )
    assert room.table_rows(state) == [
        {"learner": "ada", "e01": "PASS", "e02": "NOT YET"},
        {"learner": "bob", "e01": "NOT YET", "e02": "-"},
        {"learner": "cyd", "e01": "-", "e02": "NOT YET"},
    ]
    assert room.stuck_rows(state) == [
        {"exercise": "e01", "PASS": 1, "NOT YET": 1, "not tried": 1, "stuck on": "1 x no activity", "who": "bob"},
        {
            "exercise": "e02",
            "PASS": 0,
            "NOT YET": 2,
            "not tried": 1,
            "stuck on": "2 x charge ran twice",
            "who": "ada, cyd",
        },
    ]
    assert room.summary_line(state).startswith("room 'room': 3 learner(s), 6 verdict(s), 3 stuck")
    assert room.first_line("NOT YET: a\nb") == "a" and room.first_line("PASS: ok") == "ok" and room.first_line("") == ""


def test_the_chart_counts_what_stands_at_pass_and_at_not_yet():
    from saga_lab import plots

    state = RoomState(
        name="room",
        opened_at=1000.0,
        changes=[
            Change(1060.0, "ada", "e01", False),
            Change(1120.0, "ada", "e01", True),  # the same pair moves from NOT YET to PASS
            Change(1180.0, "bob", "e01", False),
            Change(990.0, "cyd", "e02", True),  # a learner's clock a little behind: drawn at minute 0
        ],
    )
    ax = plots.room_progress(state).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["PASS"].get_xdata()) == [0.0, 0.0, 1.0, 2.0, 3.0]
    assert list(lines["PASS"].get_ydata()) == [0, 1, 1, 2, 2]
    assert list(lines["NOT YET (stuck)"].get_ydata()) == [0, 0, 1, 0, 1]
