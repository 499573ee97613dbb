"""How fast the saga playground is to play with, in a real Jupyter kernel.

Targets (issue 22): a run with no faults shows its first events within 0.5 s of pressing
Run and ends (its end state shown) within 2 s; the kernel answers another cell while a run
is live. The kernel is a real IPython kernel (``jupyter_client``) on a throw-away embedded
server; the notebook's cell is ``Playground(lab, ...)``, and Run is pressed the way the
browser presses it: a ``click`` message on the button's comm. While the run goes, trivial
cells (``1``) are sent one after another and timed from request to reply; the same cells
are timed on an idle kernel for comparison. The seconds of each run are the playground's
own, counted from the click's arrival in the kernel (``PlaygroundRun.seconds``).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

from _common import print_table, scratch_server
from jupyter_client.manager import AsyncKernelManager

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
IDLE_CELLS = 20
FIRST_EVENT_TARGET_S = 0.5
END_TARGET_S = 2.0
CELL_TARGET_S = 0.5
SETUP = """
import json
from saga_lab.notebook import Lab
from saga_lab.playground import Playground, Setup

lab = await Lab.start()
pg = Playground(lab, "bench-play")
print(pg.run_button.model_id)
"""


async def execute(client, code: str, timeout: float = 120) -> tuple[str, float]:
    """Run ``code`` in the kernel; its stdout and the seconds from request to idle."""
    began = time.perf_counter()
    msg_id = client.execute(code)
    out = []
    while True:
        msg = await client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "stream" and msg["content"]["name"] == "stdout":
            out.append(msg["content"]["text"])
        elif kind == "error":
            raise RuntimeError(f"the kernel raised {msg['content']['ename']}: {msg['content']['evalue']}")
        elif kind == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out), time.perf_counter() - began


async def press_run(client, button: str, faults: str) -> tuple[dict, list[float]]:
    """Set the faults, click Run through the button's comm, time trivial cells until the run has ended."""
    await execute(client, f"pg.show_setup(Setup.of({faults}))")
    client.shell_channel.send(
        client.session.msg("comm_msg", {"comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}})
    )
    latencies = []
    while True:
        out, seconds = await execute(client, "print(pg._running is None and pg._task is not None and pg._task.done())")
        latencies.append(seconds)
        if out.strip() == "True":
            break
    out, _ = await execute(client, "r = pg.runs[-1]; print(json.dumps({'status': r.status, **r.seconds}))")
    return json.loads(out), latencies[:-1] or latencies


def _row(case: str, samples: list[float], target: float) -> dict:
    return {
        "case": case,
        "median s": f"{statistics.median(samples):.2f}",
        "max s": f"{max(samples):.2f}",
        "target s": f"<= {target:g}",
        "ok": "yes" if max(samples) <= target else "SLOW",
    }


async def bench() -> int:
    with scratch_server() as (info, home):
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
        settings = info.settings()
        env.update(SAGA_LAB_HOME=str(home), SAGA_LAB_PORT=str(settings.port), SAGA_LAB_UI_PORT=str(settings.ui_port))
        manager = AsyncKernelManager()
        log = (home / "kernel.log").open("w")  # the kernel's own log lines (one warns of TCP on loopback)
        await manager.start_kernel(env=env, cwd=str(ROOT / "notebooks"), stderr=log)
        client = manager.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            out, _ = await execute(client, SETUP)
            button = out.strip().splitlines()[-1]
            idle = [(await execute(client, "1"))[1] for _ in range(IDLE_CELLS)]
            results, during = [], []
            await press_run(client, button, "")  # warm-up: first imports, first JVM start
            for _ in range(RUNS):
                seconds, latencies = await press_run(client, button, "")
                results.append(seconds)
                during += latencies
            transient, latencies = await press_run(client, button, '{"charge": "transient:3"}')
            during += latencies
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)
            log.close()

    print(f"the saga playground in a real kernel: {RUNS} runs with no faults, Run pressed through the button's comm")
    print_table(
        [
            _row("first event drawn, after the click", [r["first event"] for r in results], FIRST_EVENT_TARGET_S),
            _row("first step (charge) drawn", [r["first step"] for r in results], FIRST_EVENT_TARGET_S),
            _row("end state shown", [r["ended"] for r in results], END_TARGET_S),
            _row("PlantUML's diagram shown", [r["diagram"] for r in results], END_TARGET_S + 1.5),
        ]
    )
    print()
    print(f"charge=transient:3 (three retries): {transient['status']}, end state at {transient['ended']:.2f} s")
    print()
    print("a trivial cell (`1`), request to reply")
    print_table(
        [
            _row(f"idle kernel ({len(idle)} cells)", idle, CELL_TARGET_S),
            _row(f"while a run is live ({len(during)} cells)", during, CELL_TARGET_S),
        ]
    )
    slow = [r for r in results if r["first event"] > FIRST_EVENT_TARGET_S or r["ended"] > END_TARGET_S]
    return 1 if slow or max(during) > CELL_TARGET_S else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(bench()))
