"""``saga-lab doctor``, the check at the door: one line per need, exit 0 when ready, 1 when something is missing.

Run against the real things: the test session's embedded server, a port held by a plain socket, an address
where nothing listens, and a room that hears the outcome (its ``setup`` column).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from saga_lab import server

try:  # tests/ may or may not become a package
    from .helpers import saga_lab_command
except ImportError:
    from helpers import saga_lab_command

SAGA_LAB = saga_lab_command()


def doctor(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SAGA_LAB), "doctor"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def lines(done: subprocess.CompletedProcess) -> dict[str, str]:
    """``{need: its line}`` from the doctor's output."""
    found = {}
    for line in done.stdout.splitlines()[:-1]:
        state, rest = line.split(maxsplit=1)
        found[rest.split(":", 1)[0]] = line
    return found


def learner_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SAGA_LAB_ROOM"))}
    env.update(extra)
    return env


def test_a_ready_laptop_says_ready_in_one_line_per_need(session_server):
    done = doctor(learner_env(SAGA_LAB_LEARNER="ada"))
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    found = lines(done)
    assert done.stdout.splitlines()[-1] == "ready for the workshop"
    assert found["Temporal server"].startswith("ready") and session_server.address in found["Temporal server"]
    assert found["learner name"].startswith("ready    learner name: ada")
    assert found["room"].startswith("note     room: none"), found["room"]
    assert all(line.split()[0] in ("ready", "note") for line in found.values()), done.stdout


def test_what_is_missing_is_said_with_what_to_do(tmp_path):
    with socket.socket() as taken:  # another program holds the server's port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = learner_env(SAGA_LAB_HOME=str(tmp_path), SAGA_LAB_PORT=str(port), SAGA_LAB_LEARNER="no name!")
        done = doctor(env)
    assert done.returncode == 1, done.stdout
    found = lines(done)
    assert found["Temporal server"] == (
        f"MISSING  Temporal server: port {port} is taken by another program: stop it, or set "
        "SAGA_LAB_PORT/SAGA_LAB_UI_PORT"
    )
    assert found["learner name"].startswith("MISSING  learner name: SAGA_LAB_LEARNER='no name!' cannot name")
    assert done.stdout.splitlines()[-1].startswith("NOT READY")

    nobody = f"127.0.0.1:{server.free_port()}"
    done = doctor(learner_env(TEMPORAL_ADDRESS=nobody))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert lines(done)["Temporal server"].startswith(
        f"MISSING  Temporal server: nothing answers at TEMPORAL_ADDRESS={nobody}"
    )


def test_the_room_hears_who_is_ready(session_server, tmp_path):
    """With a room open, each doctor run fills the learner's ``setup`` column: PASS, or NOT YET and what is missing."""
    instructor = learner_env(SAGA_LAB_ROOM=session_server.address, SAGA_LAB_HOME=os.environ["SAGA_LAB_HOME"])
    opened = subprocess.Popen(
        [str(SAGA_LAB), "room", "start", "--name", "room"],
        env=instructor,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert "open on" in opened.stdout.readline()
        ready = doctor(learner_env(SAGA_LAB_ROOM=session_server.address, SAGA_LAB_LEARNER="ada"))
        assert lines(ready)["room"].startswith("ready    room: the room on"), ready.stdout
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            env = learner_env(
                SAGA_LAB_ROOM=session_server.address,
                SAGA_LAB_LEARNER="bob",
                SAGA_LAB_HOME=str(tmp_path),
                SAGA_LAB_PORT=str(taken.getsockname()[1]),
            )
            doctor(env)
        deadline = time.monotonic() + 10
        while True:
            shown = subprocess.run([str(SAGA_LAB), "room", "--json"], env=instructor, capture_output=True, text=True)
            state = json.loads(shown.stdout)
            if len(state["learners"]) == 2 or time.monotonic() > deadline:
                break
        assert state["learners"]["ada"]["setup"]["passed"] is True
        bob = state["learners"]["bob"]["setup"]
        assert bob["passed"] is False and bob["message"].startswith("Temporal server: port "), bob
    finally:
        subprocess.run([str(SAGA_LAB), "room", "close"], env=instructor, capture_output=True, timeout=60)
        opened.terminate()
        opened.wait(timeout=30)
