"""The chaos runner's acceptance run, timed: 1000 sagas at fault rate 0.3 with worker kills
and a server restart, on a fresh embedded server; then where the CPU went.

    .venv/bin/python bench/chaos.py [--sagas 1000] [--fault-rate 0.3] [--seed 1] [--no-kills] [--no-restart]
                                    [--concurrency 200]

The CPU table counts every process of the run: the server (both of its lives, around the
restart), each service's worker processes (every one that was ever started, as reaped by
the supervisor's zygote) and this process (the runner: clients, checks). On a 2-core
machine the run cannot be faster than the sum divided by 2; the machine's load average is
printed because other programs share those cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import threading
import time

from _common import print_table, scratch_server

from saga_lab.chaos import COMPENSATED, COMPLETED, DEFAULT_CONCURRENCY, FAILED, LOST, ChaosConfig, run_chaos


class ServerCpu:
    """Samples the CPU time of whatever process the server's pid file names (it changes on restart)."""

    def __init__(self, home) -> None:
        self.pid_path = home / "temporal.pid"
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        try:
            pid = int(self.pid_path.read_text().strip())
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            return
        self.seen[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> ServerCpu:
        self._sample()
        self.start = dict(self.seen)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._sample()
        self._stop.set()
        self._thread.join()

    @property
    def used(self) -> float:
        return sum(cpu - self.start.get(pid, 0.0) for pid, cpu in self.seen.items())


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(args) -> None:
    with scratch_server() as (info, home):
        config = ChaosConfig(
            sagas=args.sagas,
            fault_rate=args.fault_rate,
            seed=args.seed,
            kill_workers=not args.no_kills,
            restart_server=not args.no_restart,
            home=home,
            concurrency=args.concurrency,
        )
        load_before = os.getloadavg()[0]
        runner_before = own_cpu()
        with ServerCpu(home) as server_cpu:
            began = time.perf_counter()
            result = await run_chaos(config, info=info)
            wall = time.perf_counter() - began
        runner = own_cpu() - runner_before
        load_after = os.getloadavg()[0]

    counts, lat, workers = result.counts, result.latency(), result.workers
    chaos = (
        ["faults"]
        + (["worker kills"] if config.kill_workers else [])
        + (["server restart"] if config.restart_server else [])
    )
    print(
        f"{config.sagas} sagas, fault rate {config.fault_rate:g}, {' + '.join(chaos)}, seed {config.seed}, "
        f"{config.concurrency or config.sagas} in flight; "
        f"load average {load_before:.1f} before, {load_after:.1f} after (2 cores)"
    )
    print_table(
        [
            {
                "sagas": config.sagas,
                "run s": f"{result.elapsed_s:.1f}",
                "with checks s": f"{wall:.1f}",
                "sagas/s": f"{result.throughput:.1f}",
                "p50 s": lat["p50_s"],
                "p95 s": lat["p95_s"],
                COMPLETED: counts[COMPLETED],
                COMPENSATED: counts[COMPENSATED],
                FAILED: counts[FAILED],
                "lost": counts[LOST],
                "inconsistent": len(result.inconsistent),
                "money ok": "yes" if result.money["conserved"] else "NO",
                "worker restarts": workers["total"]["restarts"],
            }
        ]
    )
    print()
    rows = [("Temporal server", server_cpu.used)]
    rows += [
        (f"{name} worker processes", workers[name]["cpu_s"]) for name in ("workflow", "payment", "order", "shipping")
    ]
    rows.append(("runner (this process)", runner))
    total = sum(cpu for _, cpu in rows)
    print_table(
        [
            {
                "where the CPU went": name,
                "CPU s": f"{cpu:.1f}",
                "ms per saga": f"{cpu / config.sagas * 1000:.0f}",
                "share": f"{cpu / total:.0%}",
            }
            for name, cpu in rows + [("total", total)]
        ]
    )
    print(f"floor on 2 idle cores: {total / 2:.0f} s of CPU work for the run's {result.elapsed_s:.0f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sagas", type=int, default=1000)
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-kills", action="store_true", help="no scheduled worker kills")
    parser.add_argument("--no-restart", action="store_true", help="no server restart")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="sagas in flight (0: all)")
    asyncio.run(main(parser.parse_args()))
