"""tether benchmark: prints JSON figures for workloads W1-W6 on SQLite.

Run with ``bin/bench`` (all workloads) or ``bin/bench --only W1,W2``. Figures are
measured on the wall clock with the durable default (WAL, synchronous=FULL) unless
``--db`` says otherwise. Tests never time anything; this is where speed is measured.

W1, W3 and W4 also report where the CPU went, per workflow, heartbeat or step
(``cpu_us_per_<unit>_<role>``, see :mod:`bench.cpu_split`): the event loop, the store's thread,
the activity threads, and on a local PostgreSQL server its backends for the benchmark's
database and its background processes. On PostgreSQL (``--db postgresql://...``) they also
report the statements the store sent and the round trips it waited for, as the store counted
them (see :class:`tether.store.postgres.traffic.Traffic`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import tether
from bench import cpu_split
from bench import messages_workload as messages
from bench.figures import RUN, percentile_ms

parked_tokens: asyncio.Queue[str] = asyncio.Queue()


class Meter:
    """What a workload cost beyond its time: CPU by thread and process role, and on PostgreSQL
    the statements the store sent and the round trips it waited for (see
    :class:`tether.store.postgres.traffic.Traffic` and :mod:`bench.cpu_split`)."""

    def __init__(self, db: str | None) -> None:
        self._postgres = db is not None and db.startswith(("postgresql:", "postgres:"))
        self._server = cpu_split.postgres(db) if db is not None and self._postgres else None

    def read(self) -> tuple[cpu_split.Snapshot, tuple[int, int]]:
        cpu = cpu_split.threads()
        if self._server is not None:
            cpu.update(self._server())
        if not self._postgres:
            return cpu, (0, 0)
        from tether.store.postgres.traffic import TRAFFIC  # psycopg only for PostgreSQL runs

        return cpu, (TRAFFIC.statements, TRAFFIC.round_trips)

    def since(self, before: tuple[cpu_split.Snapshot, tuple[int, int]], per: int, unit: str) -> dict[str, float]:
        """The costs since ``before``, per ``unit``."""
        cpu, traffic = self.read()
        figures: dict[str, float] = dict(cpu_split.per(before[0], cpu, per, unit))
        if self._postgres:
            statements, round_trips = (now - then for now, then in zip(traffic, before[1], strict=True))
            figures[f"statements_per_{unit}"] = round(statements / per, 2)
            figures[f"round_trips_per_{unit}"] = round(round_trips / per, 2)
        return figures


@tether.activity(name="bench.add")
def add(x: int) -> int:
    return x + 1


@tether.activity(name="bench.park", heartbeat=None)
async def park(i: int) -> int:
    await parked_tokens.put(tether.context().token)
    return tether.make_async()


@tether.activity(name="bench.add_async")
async def add_async(x: int) -> int:
    return x + 1


@tether.workflow(name="bench.sequence_async")
async def sequence_async(n: int) -> int:
    total = 0
    for i in range(n):
        total += await add_async(i)
    return total


@tether.workflow(name="bench.one_sync")
async def one_sync(x: int) -> int:
    return await add(x)


@tether.workflow(name="bench.one_async")
async def one_async(i: int) -> int:
    return await park(i)


@tether.workflow(name="bench.sequence")
async def sequence(n: int) -> int:
    total = 0
    for i in range(n):
        total += await add(i)
    return total


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def _with_worker(
    url: str, body: Callable[[tether.Client], Awaitable[dict[str, Any]]], **options: Any
) -> dict[str, Any]:
    client = await tether.Client.connect(url)
    try:
        async with tether.Worker(
            client,
            workflows=[one_sync, one_async, sequence, sequence_async, *messages.WORKFLOWS],
            activities=[add, add_async, park, *messages.ACTIVITIES],
            **options,
        ):
            return await body(client)
    finally:
        await client.close()


async def w1(client: tether.Client, n: int, meter: Meter) -> dict[str, Any]:
    """N workflows, each calling one sync activity, all started at once."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        handle = await client.start_workflow(one_sync, i)
        await handle.result()
        latencies.append(time.perf_counter() - started)

    before = meter.read()
    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - began
    return {
        "n": n,
        "workflows_per_s": round(n / elapsed, 1),
        "p50_ms": percentile_ms(latencies, 0.5),
        "p99_ms": percentile_ms(latencies, 0.99),
        **meter.since(before, n, "workflow"),
    }


async def _park(client: tether.Client, n: int, prefix: str) -> tuple[list[tether.WorkflowHandle[int]], list[str]]:
    handles = await asyncio.gather(*(client.start_workflow(one_async, i, id=f"{RUN}-{prefix}-{i}") for i in range(n)))
    tokens = [await parked_tokens.get() for _ in range(n)]
    return list(handles), tokens


async def w2(client: tether.Client, n: int) -> dict[str, Any]:
    """N parked workflows completed by token from another task; then one at a time (W2b)."""
    handles, tokens = await _park(client, n, "w2")
    await asyncio.sleep(0.2)  # let the parked workers settle; the benchmark measures the completions
    latencies: list[float] = []

    async def finish(token: str) -> None:
        started = time.perf_counter()
        await client.complete_activity(token, 1)
        latencies.append(time.perf_counter() - started)

    results = [asyncio.ensure_future(h.result()) for h in handles]
    began = time.perf_counter()
    await asyncio.gather(*(finish(t) for t in tokens))
    await asyncio.gather(*results)
    elapsed = time.perf_counter() - began
    single: list[float] = []
    for i in range(min(n, 200)):
        (handle,), (token,) = await _park(client, 1, f"w2b-{i}")
        waiter = asyncio.ensure_future(handle.result())
        await asyncio.sleep(0.002)
        started = time.perf_counter()
        await client.complete_activity(token, 1)
        await waiter
        single.append(time.perf_counter() - started)
    return {
        "n": n,
        "completions_per_s": round(n / elapsed, 1),
        "complete_call_p50_ms": percentile_ms(latencies, 0.5),
        "complete_call_p99_ms": percentile_ms(latencies, 0.99),
        "w2b_complete_to_result_p50_ms": percentile_ms(single, 0.5),
        "w2b_complete_to_result_p99_ms": percentile_ms(single, 0.99),
    }


async def w3(client: tether.Client, n: int, beats: int, concurrency: int, meter: Meter) -> dict[str, Any]:
    """Heartbeats with details, each durable before it is acknowledged."""
    _, tokens = await _park(client, n, "w3")
    per_task = beats // concurrency
    latencies: list[float] = []

    async def beat(k: int) -> None:
        for j in range(per_task):
            token = tokens[(k + j * concurrency) % len(tokens)]
            started = time.perf_counter()
            await client.heartbeat_activity(token, {"progress": j, "note": "working"})
            latencies.append(time.perf_counter() - started)

    before = meter.read()
    began = time.perf_counter()
    await asyncio.gather(*(beat(k) for k in range(concurrency)))
    elapsed = time.perf_counter() - began
    costs = meter.since(before, per_task * concurrency, "heartbeat")
    return {
        "parked": n,
        "heartbeats": per_task * concurrency,
        "concurrency": concurrency,
        "heartbeats_per_s": round(per_task * concurrency / elapsed, 1),
        "p50_ms": percentile_ms(latencies, 0.5),
        "p99_ms": percentile_ms(latencies, 0.99),
        **costs,
    }


async def w4(client: tether.Client, steps: int, meter: Meter) -> dict[str, Any]:
    """One workflow running activities one after another (sync ones; W4a: async ones)."""
    before = meter.read()
    began = time.perf_counter()
    handle = await client.start_workflow(sequence, steps)
    await handle.result()
    elapsed = time.perf_counter() - began
    costs = meter.since(before, steps, "step")
    began = time.perf_counter()
    handle = await client.start_workflow(sequence_async, steps)
    await handle.result()
    elapsed_async = time.perf_counter() - began
    return {
        "steps": steps,
        "ms_per_step": round(elapsed * 1000 / steps, 3),
        "activities_per_s": round(steps / elapsed, 1),
        "w4a_async_ms_per_step": round(elapsed_async * 1000 / steps, 3),
        **costs,
    }


async def w5(client: tether.Client, n: int) -> dict[str, Any]:
    """Many parked workflows: worker memory, and the time to resume one of them."""
    rss_before = _rss_mb()
    batch = 2000
    began = time.perf_counter()
    tokens: list[str] = []
    for start in range(0, n, batch):
        count = min(batch, n - start)
        _, got = await _park(client, count, f"w5-{start}")
        tokens.extend(got)
    park_elapsed = time.perf_counter() - began
    await asyncio.sleep(0.5)
    rss = _rss_mb()
    resume: list[float] = []
    for k in range(20):
        index = (k * 7919) % n
        handle = client.get_handle(f"{RUN}-w5-{(index // batch) * batch}-{index % batch}")
        waiter = asyncio.ensure_future(handle.result())
        await asyncio.sleep(0.002)
        started = time.perf_counter()
        await client.complete_activity(tokens[index], 1)
        await waiter
        resume.append(time.perf_counter() - started)
    return {
        "parked": n,
        "park_rate_per_s": round(n / park_elapsed, 1),
        "worker_rss_mb": rss,
        "rss_before_mb": rss_before,
        "resume_one_p50_ms": percentile_ms(resume, 0.5),
        "resume_one_max_ms": round(max(resume) * 1000, 3),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="store URL (default: a fresh SQLite file in a temporary directory)")
    parser.add_argument("--only", default="W1,W2,W3,W4,W5,W6", help="comma-separated workloads")
    parser.add_argument("--n", type=int, default=500, help="workflows for W1 and W2, messages sent at once in W6")
    parser.add_argument("--heartbeats", type=int, default=20000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--w5", type=int, default=50000, help="parked workflows for W5")
    parser.add_argument("--rounds", type=int, default=300, help="W6 and W6b round trips, one at a time")
    args = parser.parse_args()
    only = {w.strip().upper() for w in args.only.split(",")}
    results: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0]}
    meter = Meter(args.db)
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:

        def url(name: str) -> str:
            return args.db or f"sqlite:///{Path(tmp) / name}.db"

        runs: list[tuple[str, Callable[[tether.Client], Awaitable[dict[str, Any]]], dict[str, Any]]] = [
            ("W1", lambda c: w1(c, args.n, meter), {}),
            ("W2", lambda c: w2(c, args.n), {}),
            ("W3", lambda c: w3(c, 100, args.heartbeats, 8, meter), {}),
            ("W4", lambda c: w4(c, args.steps, meter), {}),
            ("W5", lambda c: w5(c, args.w5), {}),
            ("W6", lambda c: messages.w6(c, args.rounds, args.n), {}),
        ]
        for name, body, options in runs:
            if name in only:
                results[name] = await _with_worker(url(name.lower()), body, **options)
                print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    results["db"] = args.db or "sqlite (temporary file, WAL, synchronous=FULL)"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
