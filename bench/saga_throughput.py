"""Sagas per second of OrderSagaWorkflow beside a plain workflow running the same three
activities without the Saga (NaiveOrderWorkflow), in the same run, on a fresh embedded server.

    .venv/bin/python bench/saga_throughput.py [--orders 100] [--concurrency 50] [--rounds 8]

The target: the saga runs at 0.9 or more of the plain workflow's rate. Each round runs a batch
of each, back to back, in alternating order; the ratio printed is the median of the rounds'
ratios, which a machine whose load drifts (other jobs on 2 cores) skews least.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from _common import print_table, scratch_server

from saga_lab import connection
from saga_lab.checkout import place_order
from saga_lab.worker import BackgroundWorkers


async def batch(client, prefix: str, orders: int, concurrency: int, naive: bool) -> tuple[float, list[float]]:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(i: int) -> None:
        async with gate:
            began = time.perf_counter()
            result = await place_order(client, f"{prefix}-{i}", 1000 + i, naive=naive)
            assert result.status == "COMPLETED", result
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(orders)))
    return orders / (time.perf_counter() - began), latencies


async def main(orders: int, concurrency: int, rounds: int) -> None:
    with scratch_server() as (info, home):
        os.environ["SAGA_LAB_HOME"] = str(home)
        client = await connection.connect(info)
        async with BackgroundWorkers(client, home=home):
            await batch(client, "warmup", 20, concurrency, naive=False)
            rates = {"saga": [], "plain": []}
            lat = {"saga": [], "plain": []}
            for r in range(rounds):  # alternate, so drift hits both alike
                for kind in ("plain", "saga") if r % 2 else ("saga", "plain"):
                    rate, latencies = await batch(client, f"{kind}-{r}", orders, concurrency, naive=kind == "plain")
                    rates[kind].append(rate)
                    lat[kind].extend(latencies)
    pairs = [saga / plain for saga, plain in zip(rates["saga"], rates["plain"], strict=True)]
    rows = []
    for kind, name in (("plain", "plain 3-activity workflow"), ("saga", "OrderSagaWorkflow")):
        rows.append(
            {
                "workflow": name,
                "workflows/s": f"{statistics.median(rates[kind]):.1f}",
                "p50 latency ms": f"{statistics.median(lat[kind]) * 1000:.0f}",
                "p95 latency ms": f"{statistics.quantiles(lat[kind], n=20)[-1] * 1000:.0f}",
            }
        )
    print(f"{orders} orders x {rounds} rounds per workflow, concurrency {concurrency}, embedded server (SQLite WAL)")
    print_table(rows)
    # Each round runs both back to back: the ratio within a round is what a busy machine's drift spares.
    print(
        f"ratio saga / plain: {statistics.median(pairs):.2f} (median of {rounds} rounds' ratios, "
        f"{min(pairs):.2f} to {max(pairs):.2f}; of the median rates: "
        f"{statistics.median(rates['saga']) / statistics.median(rates['plain']):.2f})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.concurrency, args.rounds))
