"""How long the embedded Temporal server takes to be ready, cold (fresh data dir) and warm (reused)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _common import median_ms, print_table

from saga_lab import server

RUNS = 5


def main() -> None:
    cold, warm, restart = [], [], []
    for _ in range(RUNS):
        home = Path(tempfile.mkdtemp(prefix="saga-lab-bench-"))
        settings = server.ServerSettings(home=home, port=server.free_port(), ui_port=server.free_port())
        began = time.perf_counter()
        server.start(settings)
        cold.append(time.perf_counter() - began)
        began = time.perf_counter()
        server.start(settings)
        warm.append(time.perf_counter() - began)
        server.stop(settings)
        began = time.perf_counter()
        server.start(settings)
        restart.append(time.perf_counter() - began)
        server.stop(settings)
    print(f"embedded Temporal dev server, {RUNS} runs, median (ready = namespace answers over gRPC)")
    print_table(
        [
            {"case": "cold start (new data dir)", "ms": median_ms(cold), "max ms": f"{max(cold) * 1000:.0f}"},
            {"case": "start when already running", "ms": median_ms(warm), "max ms": f"{max(warm) * 1000:.0f}"},
            {"case": "restart on an existing db", "ms": median_ms(restart), "max ms": f"{max(restart) * 1000:.0f}"},
        ]
    )


if __name__ == "__main__":
    main()
