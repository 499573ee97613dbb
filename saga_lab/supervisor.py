"""Worker processes that die and come back: the process side of the chaos runner.

:class:`WorkerSupervisor` runs one ``saga-lab worker --service X`` process per service
(payment, order, shipping, workflow) and starts a new one as soon as one dies: a
``crash`` fault (the activity SIGKILLs its own process), a kill from the chaos schedule
(:meth:`WorkerSupervisor.kill`), or an exit because the server was briefly away.

Why a fork server: a fresh ``saga-lab worker`` spends about 0.4 s of CPU importing
``temporalio`` and the package before it polls (measured: 0.40-0.46 s per start). A chaos run at fault rate 0.3 crashes
a worker a few hundred times, which would cost more CPU than the sagas themselves on a
2-core machine. So a small *zygote* process imports everything once, and every worker
is ``os.fork()``-ed from it and runs the very code of ``saga-lab worker``
(:func:`saga_lab.cli.main`): a new worker process polls within a few tens of
milliseconds. The zygote imports but never starts the Temporal runtime (no threads),
so forking it is safe. Where ``fork`` is not available or wanted (``mode="exec"``,
the default off Linux), each worker is a plain ``python -m saga_lab.cli worker``.

Two more things keep a restart cheap and short (both in ``fork`` mode): the zygote computes
the SDK's default worker build id once (hashing every loaded module: 0.1 s of CPU per
worker otherwise), and the workflow worker gets a 1 s sticky-queue timeout instead of the
SDK's 10 s, so the tasks of a killed workflow worker move on after 1 s
(:func:`_short_sticky_timeout`). A restarted worker costs about 20-45 ms of CPU.

Everything runs in its own session, so a Ctrl-C in the terminal reaches only the
supervising process, which stops the workers in its ``finally``. Were that process
killed outright, the zygote sees its command pipe close and kills the workers, and a
worker whose zygote is gone is killed by the kernel (``PR_SET_PDEATHSIG``).
Workers connect to the server given in their environment (``TEMPORAL_ADDRESS``) and
write their output to one log file (default ``/dev/null``).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: The services a supervisor runs by default: one process each.
SERVICES = ("payment", "order", "shipping", "workflow")

#: A worker that exits on its own (not by a signal) this soon after starting is waiting
#: for the server: start the next one after a short, growing pause instead of at once.
QUICK_EXIT_S = 2.0
RETRY_PAUSES_S = (0.1, 0.2, 0.5, 1.0)

#: The chaos workers' sticky schedule-to-start timeout (see :func:`_short_sticky_timeout`).
STICKY_TIMEOUT_S = 1.0

_PR_SET_PDEATHSIG = 1


@dataclass
class WorkerStats:
    """What happened to one service's worker processes."""

    starts: int = 0
    #: Died of SIGKILL that the supervisor did not send: a ``crash`` fault.
    crashes: int = 0
    #: Killed by :meth:`WorkerSupervisor.kill` (the chaos schedule).
    kills: int = 0
    #: Exited on their own (for instance: the server could not be reached).
    exits: int = 0
    #: Seconds from a death being noticed to the next process running.
    restart_s: list[float] = field(default_factory=list)
    #: CPU seconds (user + system) of the processes that have ended ("fork" mode only).
    cpu_s: float = 0.0

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)

    def to_dict(self) -> dict:
        worst = max(self.restart_s, default=0.0)
        mean = sum(self.restart_s) / len(self.restart_s) if self.restart_s else 0.0
        return {
            "starts": self.starts,
            "restarts": self.restarts,
            "crashes": self.crashes,
            "kills": self.kills,
            "exits": self.exits,
            "restart_mean_ms": round(mean * 1000, 1),
            "restart_max_ms": round(worst * 1000, 1),
            "cpu_s": round(self.cpu_s, 2),
        }


#: ``on_event(kind, service, pid, detail)`` -- kind is "started", "crashed", "killed", "exited"
#: or "spawn failed" (then pid is 0).
EventCallback = Callable[[str, str, int, str], None]


class WorkerSupervisor:
    """One worker process per service, each restarted as soon as it dies.

    ``env`` is added to the workers' environment (``SAGA_LAB_HOME``,
    ``TEMPORAL_ADDRESS``...). ``sticky_timeout_s`` shortens the workflow worker's sticky
    queue timeout in ``fork`` mode (see :func:`_short_sticky_timeout`; None keeps the
    SDK's 10 s; ``exec`` mode runs the plain command, with the SDK's defaults). Use
    ``async with WorkerSupervisor(...)`` or :meth:`start` / :meth:`stop`; :meth:`stop`
    leaves no process behind.
    """

    def __init__(
        self,
        services: tuple[str, ...] = SERVICES,
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | str | None = None,
        mode: str | None = None,
        sticky_timeout_s: float | None = STICKY_TIMEOUT_S,
        on_event: EventCallback | None = None,
    ) -> None:
        unknown = [name for name in services if name not in SERVICES]
        if unknown:
            raise ValueError(f"unknown service {unknown[0]!r}: use some of {', '.join(SERVICES)}")
        mode = mode or ("fork" if sys.platform.startswith("linux") else "exec")
        if mode not in ("fork", "exec"):
            raise ValueError(f"mode must be 'fork' or 'exec', got {mode!r}")
        self.services = tuple(services)
        self.mode = mode
        self.env = {**os.environ, **(env or {})}
        self.log_path = str(log_path) if log_path else os.devnull
        self.sticky_timeout_s = sticky_timeout_s
        self.on_event = on_event
        self.stats = {name: WorkerStats() for name in self.services}
        self._pids: dict[str, int | None] = {name: None for name in self.services}
        self._born: dict[int, float] = {}
        self._services: dict[int, str] = {}
        self._killed: set[int] = set()
        self._quick_exits = {name: 0 for name in self.services}
        self._launcher: _Launcher | None = None
        self._pending: set[asyncio.Task] = set()
        self._stopping = False

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> WorkerSupervisor:
        if self._launcher is not None:
            return self
        self._stopping = False
        await self._open()
        return self

    async def _open(self) -> None:
        launcher_class = _ForkLauncher if self.mode == "fork" else _ExecLauncher
        self._launcher = launcher_class(self.env, self.log_path, self.sticky_timeout_s, self._exited, self._gone)
        await self._launcher.open()
        for name in self.services:
            await self._spawn(name)

    async def stop(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL) and the zygote; safe to call twice."""
        self._stopping = True
        for task in list(self._pending):
            task.cancel()
        launcher, self._launcher = self._launcher, None
        if launcher is not None:
            await asyncio.shield(launcher.close())
        self._pids = {name: None for name in self.services}

    async def __aenter__(self) -> WorkerSupervisor:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    # ---------------------------------------------------------------- chaos

    @property
    def pids(self) -> dict[str, int | None]:
        """The running process of each service (None while it is being replaced)."""
        return dict(self._pids)

    async def kill(self, service: str) -> int | None:
        """SIGKILL the service's current worker process (it is restarted like any dead one)."""
        pid = self._pids.get(service)
        if pid is None or self._launcher is None:
            return None
        self._killed.add(pid)
        await self._launcher.kill(pid)
        return pid

    def totals(self) -> dict[str, float]:
        keys = ("starts", "restarts", "crashes", "kills", "exits")
        totals: dict[str, float] = {key: sum(getattr(s, key) for s in self.stats.values()) for key in keys}
        totals["cpu_s"] = round(sum(s.cpu_s for s in self.stats.values()), 2)
        return totals

    # ------------------------------------------------------------- internals

    async def _spawn(self, service: str, since: float | None = None) -> None:
        if self._stopping or self._launcher is None:
            return
        pid = await self._launcher.spawn(service)
        self._pids[service] = pid
        self._services[pid] = service
        self._born[pid] = time.monotonic()
        stats = self.stats[service]
        stats.starts += 1
        if since is not None:
            stats.restart_s.append(time.monotonic() - since)
        self._emit("started", service, pid, "")

    def _exited(self, pid: int, code: int, cpu_s: float | None) -> None:
        """Called by the launcher when a worker process has ended (``code`` < 0: a signal)."""
        service = self._services.pop(pid, None)
        born = self._born.pop(pid, None)
        killed = pid in self._killed
        self._killed.discard(pid)
        if service is not None and cpu_s is not None:
            self.stats[service].cpu_s += cpu_s
        if service is None or self._stopping:
            return
        self._pids[service] = None
        stats = self.stats[service]
        delay = 0.0
        if killed:
            stats.kills += 1
            kind, detail = "killed", "SIGKILL by the chaos schedule"
        elif code == -signal.SIGKILL:
            stats.crashes += 1
            kind, detail = "crashed", "SIGKILL by a crash fault"
        else:
            stats.exits += 1
            kind, detail = "exited", f"exit code {code}"
        if code >= 0 and born is not None and time.monotonic() - born < QUICK_EXIT_S:
            quick = self._quick_exits[service]
            delay = RETRY_PAUSES_S[min(quick, len(RETRY_PAUSES_S) - 1)]
            self._quick_exits[service] = quick + 1
        else:
            self._quick_exits[service] = 0
        self._emit(kind, service, pid, detail)
        task = asyncio.get_running_loop().create_task(self._respawn(service, delay, time.monotonic()))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _respawn(self, service: str, delay: float, since: float) -> None:
        launcher = self._launcher
        while not self._stopping and self._launcher is launcher:
            if delay:
                await asyncio.sleep(delay)
            try:
                await self._spawn(service, since)
                return
            except Exception as err:  # e.g. fork failed: try again, a little later
                self._emit("spawn failed", service, 0, str(err))
                delay = 0.5

    def _gone(self) -> None:
        """The zygote died (its workers die with it): start a new one and every worker again."""
        if self._stopping:
            return
        for service, pid in self._pids.items():
            if pid is not None:
                self._services.pop(pid, None)
                self._born.pop(pid, None)
                self.stats[service].exits += 1
                self._emit("exited", service, pid, "its zygote died")
        self._pids = {name: None for name in self.services}
        task = asyncio.get_running_loop().create_task(self._reopen())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reopen(self) -> None:
        old, self._launcher = self._launcher, None
        if old is not None:
            await old.close()
        for _ in range(3):
            if self._stopping:
                return
            try:
                await self._open()
                return
            except Exception as err:
                self._emit("spawn failed", "zygote", 0, str(err))
                await asyncio.sleep(1.0)

    def _emit(self, kind: str, service: str, pid: int, detail: str) -> None:
        if self.on_event is not None:
            try:
                self.on_event(kind, service, pid, detail)
            except Exception:  # a display callback must never stop the supervision
                pass


# ---------------------------------------------------------------- launchers


class _Launcher:
    def __init__(
        self,
        env: dict[str, str],
        log_path: str,
        sticky_timeout_s: float | None,
        exited: Callable[[int, int, float | None], None],
        gone: Callable[[], None],
    ) -> None:
        self.env = env
        self.log_path = log_path
        self.sticky_timeout_s = sticky_timeout_s
        self.exited = exited
        self.gone = gone
        self.closing = False

    async def open(self) -> None: ...

    async def spawn(self, service: str) -> int: ...

    async def kill(self, pid: int) -> None: ...

    async def close(self) -> None: ...


class _ForkLauncher(_Launcher):
    """Talks to the zygote over its stdin/stdout: one JSON object per line each way."""

    async def open(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "from saga_lab.supervisor import zygote_main; zygote_main()",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
            env=self.env,
            start_new_session=True,
        )
        self._spawned: asyncio.Queue[int] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._reader = asyncio.create_task(self._read())
        ready = await asyncio.wait_for(self._spawned.get(), 30)  # the zygote says 0 once it has imported
        assert ready == 0

    async def _read(self) -> None:
        assert self._proc.stdout is not None
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                if not self.closing:
                    self.gone()  # the zygote died, and its workers with it
                return
            message = json.loads(line)
            if "spawned" in message:
                self._spawned.put_nowait(message["spawned"])
            elif "exited" in message:
                self.exited(message["exited"], message["code"], message.get("cpu_s"))

    async def _send(self, message: dict) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write((json.dumps(message) + "\n").encode())
        await self._proc.stdin.drain()

    async def spawn(self, service: str) -> int:
        async with self._lock:  # one spawn at a time, so replies pair with requests
            if self._reader.done():
                raise RuntimeError("the worker zygote is gone")
            await self._send({"spawn": service, "log": self.log_path, "sticky_s": self.sticky_timeout_s})
            reply = asyncio.ensure_future(self._spawned.get())
            await asyncio.wait([reply, self._reader], timeout=30, return_when=asyncio.FIRST_COMPLETED)
            if not reply.done():
                reply.cancel()
                raise RuntimeError("the worker zygote did not answer")
            return reply.result()

    async def kill(self, pid: int) -> None:
        try:
            await self._send({"kill": pid})
        except (ConnectionError, RuntimeError):  # the zygote is gone; gone() deals with it
            pass

    async def close(self) -> None:
        self.closing = True
        try:
            if self._proc.stdin is not None and not self._proc.stdin.is_closing():
                self._proc.stdin.close()  # EOF: the zygote stops every worker, then exits
            await asyncio.wait_for(self._proc.wait(), 10)
            await asyncio.wait_for(asyncio.shield(self._reader), 2)  # the last "exited" lines
        except (TimeoutError, ProcessLookupError, ConnectionError):
            pass
        finally:
            if self._proc.returncode is None:
                self._proc.kill()
                await self._proc.wait()
            self._reader.cancel()


class _ExecLauncher(_Launcher):
    """Each worker is a fresh ``python -m saga_lab.cli worker --service X``."""

    async def open(self) -> None:
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self._waiters: set[asyncio.Task] = set()

    async def spawn(self, service: str) -> int:
        with open(self.log_path, "ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "saga_lab.cli",
                "worker",
                "--service",
                service,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        self._procs[proc.pid] = proc
        waiter = asyncio.create_task(self._wait(proc))
        self._waiters.add(waiter)
        waiter.add_done_callback(self._waiters.discard)
        return proc.pid

    async def _wait(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if self._procs.pop(proc.pid, None) is not None:
            self.exited(proc.pid, code, None)

    async def kill(self, pid: int) -> None:
        proc = self._procs.get(pid)
        if proc is not None and proc.returncode is None:
            proc.kill()

    async def close(self) -> None:
        self.closing = True
        procs, self._procs = list(self._procs.values()), {}
        for proc in procs:
            if proc.returncode is None:
                proc.terminate()
        deadline = time.monotonic() + 2.0
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for waiter in list(self._waiters):
            waiter.cancel()


# ---------------------------------------------------------------- the zygote


def zygote_main() -> None:
    """The fork server: import once, then fork one worker per ``{"spawn": service}`` line.

    Replies ``{"spawned": pid}`` to each spawn and ``{"exited": pid, "code": n, "cpu_s": s}``
    when a worker ends (``n`` < 0: killed by signal ``-n``; ``s``: the CPU it used). ``{"kill": pid}`` SIGKILLs a worker
    of its own (never another pid). End of input stops every worker and the zygote.
    """
    import selectors

    import temporalio.client
    import temporalio.worker  # noqa: F401

    import saga_lab.cli
    import saga_lab.worker  # noqa: F401

    _set_process_name("saga-lab-zygote")
    _prewarm()
    children: dict[int, str] = {}
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below via wake_w
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    orphaned = False

    def say(message: dict) -> None:
        nonlocal orphaned
        if orphaned:
            return
        try:
            os.write(1, (json.dumps(message) + "\n").encode())
        except OSError:  # the supervisor is gone: stop everything (below)
            orphaned = True

    def reap(block: bool = False) -> None:
        while children:
            try:
                pid, status, usage = os.wait4(-1, 0 if block else os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            children.pop(pid, None)
            cpu = round(usage.ru_utime + usage.ru_stime, 3)
            say({"exited": pid, "code": os.waitstatus_to_exitcode(status), "cpu_s": cpu})

    def shutdown() -> None:
        for pid in list(children):
            _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + 2.0
        while children and time.monotonic() < deadline:
            reap()
            time.sleep(0.02)
        for pid in list(children):
            _signal(pid, signal.SIGKILL)
        reap(block=True)

    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    say({"spawned": 0})
    buffer = b""
    try:
        while True:
            for key, _ in selector.select(timeout=1.0):
                if key.fd == wake_r:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                data = os.read(0, 65536)
                if not data or orphaned:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    message = json.loads(line)
                    if "spawn" in message:
                        pid = os.fork()
                        if pid == 0:
                            inherited = (0, 1, wake_r, wake_w, selector)
                            _worker_child(message["spawn"], message["log"], message.get("sticky_s"), inherited)
                        children[pid] = message["spawn"]
                        say({"spawned": pid})
                    elif "kill" in message and message["kill"] in children:
                        _signal(message["kill"], signal.SIGKILL)
            reap()
            if orphaned:
                return
    finally:
        shutdown()


def _prewarm() -> None:
    """Do once, in the zygote, the work every new worker would repeat.

    A ``Worker`` without a ``build_id`` hashes the bytecode of every loaded module (about
    0.1 s of CPU, three quarters of a worker's start); the SDK memoizes the hash in the
    process, so computing it here hands it to every forked worker.
    """
    try:
        from temporalio.worker._worker import load_default_build_id

        load_default_build_id()
    except Exception:  # only an optimisation: a newer SDK may have moved it
        pass


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _worker_child(service: str, log_path: str, sticky_timeout_s: float | None, inherited: tuple) -> None:
    """In the forked child: become ``saga-lab worker --service <service>``; never returns."""
    code = 70
    try:
        *fds, selector = inherited
        zygote = os.getppid()
        _die_with_parent()
        _set_process_name(f"worker-{service}")
        if os.getppid() != zygote:  # the zygote died before the line above
            os._exit(1)
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        selector.close()
        null = os.open(os.devnull, os.O_RDONLY)
        log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        for fd in (null, log, *fds[2:]):
            os.close(fd)
        from saga_lab import cli

        if sticky_timeout_s:
            _short_sticky_timeout(sticky_timeout_s)
        code = cli.main(["worker", "--service", service])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _short_sticky_timeout(seconds: float) -> None:
    """Give this process's workers a short sticky schedule-to-start timeout.

    A workflow worker keeps the workflows it ran in a cache and the server sends their
    next tasks to that worker's own ("sticky") queue. When the worker is SIGKILLed,
    those tasks wait there for ``sticky_queue_schedule_to_start_timeout`` (SDK default
    10 s) before the server hands them to the shared queue: every kill stalled every
    saga in flight for 10 s (measured: 200 sagas with kills took 55 s, with 1 s 33 s).
    ``saga_lab.worker.build_workers`` has no way to pass worker options, so this forked
    chaos worker (and only it) sets the default on ``Worker`` before building them.
    """
    from datetime import timedelta
    from functools import wraps

    import temporalio.worker

    original = temporalio.worker.Worker.__init__

    @wraps(original)
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("sticky_queue_schedule_to_start_timeout", timedelta(seconds=seconds))
        original(self, *args, **kwargs)

    temporalio.worker.Worker.__init__ = __init__


def _set_process_name(name: str) -> None:
    """Linux: the name ``ps -o comm``, ``top`` and ``pgrep`` show (15 bytes at most).

    The forked workers share the zygote's command line; this tells them apart.
    """
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass


def _die_with_parent() -> None:
    """Linux: the kernel SIGKILLs this process when its parent (the zygote) dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
