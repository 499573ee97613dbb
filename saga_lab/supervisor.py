"""Worker processes that die and come back: the process side of the chaos runner.

:class:`WorkerSupervisor` runs each service's worker in a process of its own (:func:`serve`)
and starts a new one as soon as one dies: a ``crash`` fault (only these processes' fault
injectors may SIGKILL their process), a kill by the chaos schedule, or an exit while the
server was away. Each is forked by the standard library's ``multiprocessing`` forkserver,
which imports ``temporalio`` and the package once (:data:`PRELOAD`): a new worker polls
within ~50 ms, where a fresh ``python`` spends ~0.45 s of CPU importing before it polls.
The forkserver lives as long as this process, and serves the next run too. As in any
multiprocessing program, a script that starts a supervisor guards its ``__main__``.

A worker ends when its supervising process does (its parent sentinel closes), and runs in
a session of its own, so a Ctrl-C reaches only the supervising process, which stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from .config import SERVICES
from .connection import connect
from .faults import FaultInjector
from .server import ServerInfo
from .worker import run_workers

#: What the forkserver imports once: the workers' modules, and the chaos runner's (multiprocessing
#: runs the main script again in each worker: what it imports is then loaded already).
PRELOAD = ["saga_lab.supervisor", "saga_lab.chaos"]
#: Options for workers that die often. A dead workflow worker's cached workflows get their next
#: task after the sticky queue timeout (SDK default 10 s: each kill would stall every saga in
#: flight). A fixed build id spares each worker hashing every loaded module (0.1 s of CPU). The
#: sandbox passes the lab's own modules through instead of importing them again for every saga
#: (a third of the workflow worker's CPU); the notebooks' workers keep the full sandbox.
WORKER_OPTIONS = {
    "sticky_queue_schedule_to_start_timeout": timedelta(seconds=1),
    "build_id": "saga-lab-chaos",
    "workflow_runner": SandboxedWorkflowRunner(SandboxRestrictions.default.with_passthrough_modules("saga_lab")),
}
#: A worker that exits on its own (the server is away) is started again after this pause.
EXIT_PAUSE_S = 0.5

_forkserver = multiprocessing.get_context("forkserver")


def serve(
    info: ServerInfo, home: Path, service: str, env: dict[str, str], log_path: str, options: dict, journal: str | None
) -> None:
    """A worker process: ``service``'s worker, until it is killed or its supervising process is gone."""
    os.setsid()
    os.environ.clear()
    os.environ.update(env)  # the supervisor's, as exec would pass it (the forkserver's is older)
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as comm:  # the name ps and top show
        comm.write(f"worker-{service}"[:15])
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    asyncio.run(_serve(info, home, service, options, journal))


async def _serve(info: ServerInfo, home: Path, service: str, options: dict, journal: str | None) -> None:
    asyncio.get_running_loop().add_reader(multiprocessing.parent_process().sentinel, os._exit, 1)
    client = await connect(info)
    faults = FaultInjector(crash_kills_process=True, journal=Path(journal) if journal else None)
    await run_workers(client, (service,), home, faults=faults, **options)


@dataclass
class WorkerStats:
    """What happened to one service's worker processes: crashes are SIGKILLs the supervisor did not send."""

    starts: int = 0
    crashes: int = 0
    kills: int = 0
    exits: int = 0
    #: Seconds from a death being noticed to the next process running.
    restart_s: list[float] = field(default_factory=list)

    @property
    def restarts(self) -> int:
        return max(0, self.starts - 1)

    def to_dict(self) -> dict:
        counts = {key: getattr(self, key) for key in ("starts", "restarts", "crashes", "kills", "exits")}
        mean_ms = 1000 * sum(self.restart_s) / max(1, len(self.restart_s))
        return counts | {
            "restart_mean_ms": round(mean_ms, 1),
            "restart_max_ms": round(1000 * max(self.restart_s, default=0), 1),
        }


class WorkerSupervisor:
    """One worker process per service, on ``info``'s server with stores under ``home``, restarted when it dies.

    ``late_journal``: the file where the processes' fault injectors note late work held and landed
    (:func:`saga_lab.faults.read_journal` counts what a killed process never landed).
    ``worker_options`` go to every ``Worker``. Use ``async with`` or :meth:`start` / :meth:`stop`:
    :meth:`stop` leaves no worker behind.
    """

    def __init__(
        self,
        info: ServerInfo,
        home: Path,
        services: tuple[str, ...] = SERVICES,
        *,
        log_path: Path | str | None = None,
        late_journal: Path | str | None = None,
        **worker_options: Any,
    ) -> None:
        if set(services) - set(SERVICES):
            raise ValueError(f"unknown services {set(services) - set(SERVICES)}: use some of {', '.join(SERVICES)}")
        self.info, self.home, self.services = info, Path(home), tuple(services)
        self.log_path, self.worker_options = str(log_path or os.devnull), WORKER_OPTIONS | worker_options
        self.late_journal = str(late_journal) if late_journal else None  # see FaultInjector: late work held, landed
        self.stats = {name: WorkerStats() for name in self.services}
        self._procs: dict[str, multiprocessing.Process] = {}
        self._killed: set[int] = set()
        self._respawns: set[asyncio.Task] = set()
        self._running = False

    async def start(self) -> WorkerSupervisor:
        self._running = True
        _forkserver.set_forkserver_preload(PRELOAD)  # read when the forkserver starts (once per process)
        for service in self.services:
            await self._spawn(service)
        return self

    async def stop(self) -> None:
        """SIGTERM every worker, SIGKILL what is left after 2 s. Safe to call twice."""
        self._running = False
        await asyncio.gather(*self._respawns, return_exceptions=True)  # each sees _running and stops
        procs, self._procs = list(self._procs.values()), {}
        for proc in procs:
            asyncio.get_running_loop().remove_reader(proc.sentinel)
            proc.terminate()
        await asyncio.to_thread(_reap, procs)

    async def __aenter__(self) -> WorkerSupervisor:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.stop()

    @property
    def pids(self) -> dict[str, int | None]:
        """The running process of each service (None while it is being replaced)."""
        return {name: proc.pid if (proc := self._procs.get(name)) else None for name in self.services}

    async def kill(self, service: str) -> int | None:
        """SIGKILL the service's current worker process (it is restarted like any dead one)."""
        proc = self._procs.get(service)
        if proc is not None:
            self._killed.add(proc.pid)
            proc.kill()
        return proc and proc.pid

    def totals(self) -> dict[str, int]:
        keys = ("starts", "restarts", "crashes", "kills", "exits")
        return {key: sum(getattr(stats, key) for stats in self.stats.values()) for key in keys}

    async def _spawn(self, service: str, since: float | None = None) -> None:
        args = (self.info, self.home, service, dict(os.environ), self.log_path, self.worker_options, self.late_journal)
        proc = _forkserver.Process(target=serve, args=args, daemon=True)
        await asyncio.to_thread(proc.start)
        if not self._running:  # stopped meanwhile
            proc.kill()
            return await asyncio.to_thread(_reap, [proc])
        self._procs[service] = proc
        asyncio.get_running_loop().add_reader(proc.sentinel, self._ended, service, proc)
        self.stats[service].starts += 1
        self.stats[service].restart_s += [time.monotonic() - since] if since else []

    def _ended(self, service: str, proc: multiprocessing.Process) -> None:
        """The process is gone: count why, and start the next one."""
        asyncio.get_running_loop().remove_reader(proc.sentinel)
        pid, code, stats = proc.pid, proc.exitcode, self.stats[service]
        proc.close()
        if self._procs.get(service) is not proc:
            return
        del self._procs[service]
        if pid in self._killed:
            self._killed.discard(pid)
            stats.kills += 1
        elif code == -signal.SIGKILL:
            stats.crashes += 1
        else:
            stats.exits += 1
        task = asyncio.create_task(self._respawn(service, 0.0 if code == -signal.SIGKILL else EXIT_PAUSE_S))
        self._respawns.add(task)
        task.add_done_callback(self._respawns.discard)

    async def _respawn(self, service: str, pause: float) -> None:
        since = time.monotonic()
        while self._running:
            await asyncio.sleep(pause)
            try:
                return await self._spawn(service, since)
            except Exception as err:  # e.g. fork failed: try again, a little later
                logging.getLogger(__name__).warning("starting a %s worker failed: %s", service, err)
                pause = 0.5


def _reap(procs: list[multiprocessing.Process]) -> None:
    """Wait for ``procs`` to end (SIGKILL what is left after 2 s), then release them."""
    deadline = time.monotonic() + 2.0
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.exitcode is None:
            proc.kill()
            proc.join()
        proc.close()
