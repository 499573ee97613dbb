"""The chaos acceptance run, timed, beside fault-free sagas through the same runner in the same run.

    .venv/bin/python bench/chaos.py [--sagas 1000] [--clean-sagas 500] [--fault-rate 0.3] [--seed 1]
                                    [--no-kills] [--no-restart] [--concurrency 200]

On a fresh embedded server: first ``--clean-sagas`` sagas with no fault, no kill and no restart
(the clean throughput), then ``--sagas`` sagas at ``--fault-rate`` over every step and every
fault kind (``late`` and ``crash`` included), a worker process SIGKILLed every ~2 s and one
server restart. Both go through the same runner and worker processes, 200 in flight.

Targets: the chaos run in at most 60 s for 1000 sagas on 2 cores, and chaos throughput at
least 0.8 of the clean throughput. The CPU table says where the chaos run's CPU went: the
server (both lives), the workflow worker processes, the activity worker processes (every one
ever started: the forkserver's reaped children) and this process (the runner).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import threading
import time
from pathlib import Path

from _common import print_table, scratch_server

from saga_lab.chaos import DEFAULT_CONCURRENCY, ChaosConfig, ChaosResult, run_chaos

TARGET_S_PER_1000 = 60.0
TARGET_RATIO = 0.8


def cpu_s(proc, children: bool = False) -> float:
    times = proc.cpu_times()
    return times.children_user + times.children_system if children else times.user + times.system


class CpuSampler:
    """CPU seconds of the server (the pid in its pid file: it changes on restart) and the workflow workers.

    Both live long, so sampling every 0.2 s misses little. Activity workers die in a crash fault
    every second or so: they are counted exactly, as the forkserver's reaped children.
    """

    def __init__(self, home) -> None:
        import psutil  # here, not at the top: multiprocessing re-runs this script's imports in every worker

        self.psutil = psutil
        self.pid_path = home / "temporal.pid"
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.forkserver = None

    def _workers(self) -> float:
        """CPU of every worker process that has ended: the forkserver's reaped children (it starts with the first)."""
        if self.forkserver is None:
            forkserver = (p for p in self.psutil.Process().children() if "forkserver" in " ".join(p.cmdline()))
            self.forkserver = next(forkserver, None)
        return cpu_s(self.forkserver, children=True) if self.forkserver else 0.0

    def _sample(self) -> None:
        self._workers()
        procs = []
        with contextlib.suppress(OSError, ValueError, self.psutil.Error):
            procs.append(("server", self.psutil.Process(int(self.pid_path.read_text()))))
        for child in self.forkserver.children() if self.forkserver else []:
            with contextlib.suppress(self.psutil.Error):
                if child.name() == "worker-workflow":
                    procs.append(("workflow", child))
        for name, proc in procs:
            with contextlib.suppress(self.psutil.Error):
                self.last[proc.pid] = (name, cpu_s(proc))

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self.start = dict(self.last)
        self.workers_before = self._workers()
        self.runner_before = cpu_s(self.psutil.Process())
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.workers = self._workers() - self.workers_before  # every worker has ended and been reaped
        self.runner = cpu_s(self.psutil.Process()) - self.runner_before

    def used(self, name: str) -> float:
        return sum(cpu - self.start.get(pid, (name, 0.0))[1] for pid, (n, cpu) in self.last.items() if n == name)


async def restart_times(info, home, samples: int) -> list[dict]:
    """SIGKILL a worker ``samples`` times: from the kill to the new process polling its task queue, as the
    server sees it (its poller list names the process), and the CPU the new process used until then."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    from saga_lab.connection import connect, task_queue
    from saga_lab.supervisor import WorkerSupervisor

    client = await connect(info)

    async def polling(service: str, pid: int) -> bool:
        kind = (
            TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW if service == "workflow" else TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY
        )
        queue = TaskQueue(name=task_queue(client, service))
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(namespace=client.namespace, task_queue=queue, task_queue_type=kind)
        )
        return any(poller.identity.startswith(f"{pid}@") for poller in described.pollers)

    rows = []
    async with asyncio.timeout(60 + 5 * samples), WorkerSupervisor(info, home) as supervisor:
        for service in ("payment", "workflow"):
            walls, cpus = [], []
            for _ in range(samples + 1):
                pid = supervisor.pids[service]
                while not await polling(service, pid):
                    await asyncio.sleep(0.005)
                cpus.append(int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9)  # ns on a CPU
                began = time.perf_counter()
                await supervisor.kill(service)
                while supervisor.pids[service] in (None, pid) or not await polling(service, supervisor.pids[service]):
                    await asyncio.sleep(0.005)
                walls.append(time.perf_counter() - began)
                await asyncio.sleep(0.2)
            rows.append(
                {
                    "worker restart": service,
                    "kill -> polling ms (median)": f"{statistics.median(walls) * 1000:.0f}",
                    "max ms": f"{max(walls) * 1000:.0f}",
                    "CPU ms until polling (median)": f"{statistics.median(cpus[1:]) * 1000:.0f}",
                    "samples": samples,
                }
            )
    return rows


async def main(args) -> None:
    with scratch_server() as (info, home):
        restarts = await restart_times(info, home, args.restart_samples) if args.restart_samples else []
        common = dict(seed=args.seed, home=home, concurrency=args.concurrency)
        with CpuSampler(home) as clean_cpu:
            clean = await run_chaos(ChaosConfig(sagas=args.clean_sagas, fault_rate=0.0, **common), info=info)
        config = ChaosConfig(
            sagas=args.sagas,
            fault_rate=args.fault_rate,
            kill_workers=not args.no_kills,
            restart_server=not args.no_restart,
            **common,
        )
        load_before = os.getloadavg()[0]
        with CpuSampler(home) as cpu:
            began = time.perf_counter()
            result = await run_chaos(config, info=info)
            wall = time.perf_counter() - began
    report(config, clean, result, wall, (clean_cpu, cpu), load_before)
    if restarts:
        print()
        print_table(restarts)


def report(config: ChaosConfig, clean: ChaosResult, result: ChaosResult, wall: float, cpus, load: float) -> None:
    chaos = ["faults"] + ["worker kills"] * config.kill_workers + ["server restart"] * config.restart_server
    print(
        f"{config.sagas} sagas, fault rate {config.fault_rate:g}, {' + '.join(chaos)}, seed {config.seed}, "
        f"{config.concurrency or config.sagas} in flight; {os.cpu_count()} cores, load average {load:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after"
    )
    counts, lat, ratio = result.counts, result.latency(), result.throughput / clean.throughput
    target_s = TARGET_S_PER_1000 * config.sagas / 1000
    row = {
        "chaos s": f"{result.elapsed_s:.1f}",
        "sagas/s": f"{result.throughput:.1f}",
        "clean sagas/s": f"{clean.throughput:.1f}",
        "ratio": f"{ratio:.2f}",
        "sagas with late": sum(any(p.endswith("=late") for p in row.fault_points) for row in result.orders),
        "late wait s": f"{result.late_wait_s:.1f}",
        "with checks s": f"{wall:.1f}",
        "p50 s": lat["p50_s"],
        "p95 s": lat["p95_s"],
        **{status.lower(): n for status, n in counts.items()},
        "inconsistent": len(result.inconsistent),
        "money ok": "yes" if result.money["conserved"] else "NO",
        "worker restarts": result.workers["total"]["restarts"],
    }
    print_table([row])
    print(
        f"targets: {target_s:.0f} s for {config.sagas} sagas: {'met' if result.elapsed_s <= target_s else 'NOT met'}; "
        f"chaos/clean >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'NOT met'} "
        f"(clean: {clean.config.sagas} fault-free sagas, same runner, same run)"
    )
    if not result.ok:
        print("THE INVARIANT BROKE:\n" + result.report())
    print()
    rows = []
    for run, cpu in zip((clean, result), cpus):
        workflow = cpu.used("workflow")
        activities, server = cpu.workers - workflow, cpu.used("server")
        parts = {"server": server, "workflow workers": workflow, "activity workers": activities, "runner": cpu.runner}
        per_saga = {f"{name} ms": f"{s / run.config.sagas * 1000:.0f}" for name, s in parts.items()}
        total = sum(parts.values())
        name = "clean" if run is clean else "chaos"
        rows.append({"CPU per saga": name, **per_saga, "total ms": f"{total / run.config.sagas * 1000:.0f}"})
        rows[-1]["total CPU s"] = f"{total:.1f}"
        rows[-1]["server share"] = f"{server / total:.0%}"
    print_table(rows)
    floor = float(rows[-1]["total CPU s"]) / os.cpu_count()
    print(
        f"floor on {os.cpu_count()} idle cores: {floor:.0f} s of CPU work for the chaos run's {result.elapsed_s:.0f} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sagas", type=int, default=1000)
    parser.add_argument("--clean-sagas", type=int, default=500, help="fault-free sagas for the clean throughput")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-kills", action="store_true", help="no scheduled worker kills")
    parser.add_argument("--no-restart", action="store_true", help="no server restart")
    parser.add_argument("--restart-samples", type=int, default=10, help="worker restarts timed first (0: none)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="sagas in flight (0: all)")
    asyncio.run(main(parser.parse_args()))
