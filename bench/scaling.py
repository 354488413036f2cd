"""tether scaling benchmark: W1-W5 on one PostgreSQL database, served by 1, 2, 4 ... worker processes.

Run with ``bin/bench --scaling --db postgresql://user@host:5432/db`` (``--workers 1,2,4``,
``--only W1,W2,W3,W4``, ``--w5 200000`` to add W5). For each worker count, that many
``tether worker bench.scaling_workload`` processes run against the database; this process
drives the workload through an embedded client on the same database, running no worker
itself, as a service that starts workflows and completes activities by token would. Use a
fresh database: every run's executions stay in it (each run names its own).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import tether
from bench import scaling_workload as wl
from bench.figures import percentile_ms

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class Fleet:
    """``count`` ``tether worker`` processes on one database, and the tokens their parked activities hand out."""

    def __init__(self, url: str, count: int, folder: Path) -> None:
        self.tokens = folder / "tokens"
        self.tokens.mkdir()
        env = {**os.environ, "BENCH_TOKENS": str(self.tokens), "PYTHONPATH": str(ROOT)}
        self.logs = [folder / f"worker-{k}.log" for k in range(count)]
        self.processes = []
        for log in self.logs:
            with open(log, "w") as err:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-c", "from tether.cli import main; main()",
                         "worker", "bench.scaling_workload", "--db", url],
                        stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT,
                    )
                )  # fmt: skip
        self._offsets: dict[Path, int] = {}

    def wait_until_ready(self) -> None:
        """Wait until every worker said it runs (within a minute)."""
        deadline = time.monotonic() + 60
        for process, log in zip(self.processes, self.logs, strict=True):
            while "activity(ies) on" not in log.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"a worker did not start:\n{log.read_text()}")
                time.sleep(0.05)

    async def wait_for_tokens(self, count: int) -> dict[str, str]:
        """The next ``count`` tokens handed out, by execution id."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + 600
        while len(found) < count:
            for execution_id, token in await asyncio.to_thread(self._unread):
                found[execution_id] = token
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(found)} of {count} tokens arrived")
            if len(found) < count:
                await asyncio.sleep(0.01)
        return found

    def _unread(self) -> list[tuple[str, str]]:
        lines: list[tuple[str, str]] = []
        for path in sorted(self.tokens.iterdir()):
            with open(path, "rb") as tokens:
                tokens.seek(self._offsets.get(path, 0))
                chunk = tokens.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            self._offsets[path] = self._offsets.get(path, 0) + len(complete)
            for line in complete.decode().splitlines():
                execution_id, token = line.split(" ", 1)
                lines.append((execution_id, token))
        return lines

    def rss_mb(self) -> list[float]:
        """The resident memory of each worker process."""
        return [_rss_mb(p.pid) for p in self.processes]

    def stop(self) -> None:
        """Stop every worker gracefully (SIGTERM) and wait for it."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            process.wait(timeout=120)


async def _park(client: tether.Client, fleet: Fleet, n: int, prefix: str) -> dict[str, str]:
    sem = asyncio.Semaphore(64)

    async def start(i: int) -> None:
        async with sem:
            await client.start_workflow(wl.parked, i, id=f"{prefix}-{i}")

    await asyncio.gather(*(start(i) for i in range(n)))
    return await fleet.wait_for_tokens(n)


async def w1(client: tether.Client, n: int, run: str) -> dict[str, Any]:
    """N workflows, each calling one sync activity, all started at once."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        started = time.perf_counter()
        handle = await client.start_workflow(wl.one_sync, i, id=f"{run}-w1-{i}")
        await handle.result()
        latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    elapsed = time.perf_counter() - began
    return {
        "workflows_per_s": round(n / elapsed, 1),
        "p50_ms": percentile_ms(latencies, 0.5),
        "p99_ms": percentile_ms(latencies, 0.99),
    }


async def w2(client: tether.Client, fleet: Fleet, n: int, run: str) -> dict[str, Any]:
    """N parked workflows completed by token at once; then one at a time, complete call to result (W2b)."""
    tokens = await _park(client, fleet, n, f"{run}-w2")
    latencies: list[float] = []

    async def finish(token: str) -> None:
        started = time.perf_counter()
        await client.complete_activity(token, 1)
        latencies.append(time.perf_counter() - started)

    results = [asyncio.ensure_future(client.get_handle(e).result()) for e in tokens]
    began = time.perf_counter()
    await asyncio.gather(*(finish(t) for t in tokens.values()))
    await asyncio.gather(*results)
    elapsed = time.perf_counter() - began
    single: list[float] = []
    for i in range(min(n, 100)):
        ((execution_id, token),) = (await _park(client, fleet, 1, f"{run}-w2b-{i}")).items()
        waiter = asyncio.ensure_future(client.get_handle(execution_id).result())
        await asyncio.sleep(0.002)
        started = time.perf_counter()
        await client.complete_activity(token, 1)
        await waiter
        single.append(time.perf_counter() - started)
    return {
        "completions_per_s": round(n / elapsed, 1),
        "complete_call_p50_ms": percentile_ms(latencies, 0.5),
        "complete_call_p99_ms": percentile_ms(latencies, 0.99),
        "w2b_complete_to_result_p50_ms": percentile_ms(single, 0.5),
        "w2b_complete_to_result_p99_ms": percentile_ms(single, 0.99),
    }


async def w3(client: tether.Client, fleet: Fleet, beats: int, run: str) -> dict[str, Any]:
    """Durable heartbeats by token from 8 concurrent callers (transitions of this process's store)."""
    tokens = list((await _park(client, fleet, 100, f"{run}-w3")).values())
    per_task = beats // 8
    latencies: list[float] = []

    async def beat(k: int) -> None:
        for j in range(per_task):
            started = time.perf_counter()
            await client.heartbeat_activity(tokens[(k + j * 8) % len(tokens)], {"progress": j, "note": "working"})
            latencies.append(time.perf_counter() - started)

    began = time.perf_counter()
    await asyncio.gather(*(beat(k) for k in range(8)))
    elapsed = time.perf_counter() - began
    return {"heartbeats_per_s": round(per_task * 8 / elapsed, 1), "p50_ms": percentile_ms(latencies, 0.5)}


async def w4(client: tether.Client, steps: int, run: str) -> dict[str, Any]:
    """One workflow running activities one after another; then 8 such workflows at once (W4c)."""
    figures: dict[str, Any] = {}
    for key, workflow in (("ms_per_step", wl.sequence), ("w4a_async_ms_per_step", wl.sequence_async)):
        began = time.perf_counter()
        await (await client.start_workflow(workflow, steps, id=f"{run}-{key}")).result()
        figures[key] = round((time.perf_counter() - began) * 1000 / steps, 3)
    began = time.perf_counter()
    handles = [await client.start_workflow(wl.sequence, steps, id=f"{run}-w4c-{k}") for k in range(8)]
    await asyncio.gather(*(h.result() for h in handles))
    figures["w4c_8_at_once_activities_per_s"] = round(8 * steps / (time.perf_counter() - began), 1)
    return figures


async def w5(client: tether.Client, fleet: Fleet, n: int, run: str) -> dict[str, Any]:
    """Many parked workflows: the workers' memory, and the time to resume one of them."""
    batch = 2000
    tokens: dict[str, str] = {}
    began = time.perf_counter()
    for start in range(0, n, batch):
        tokens.update(await _park(client, fleet, min(batch, n - start), f"{run}-w5-{start}"))
    park_elapsed = time.perf_counter() - began
    ids = list(tokens)
    resume: list[float] = []
    for k in range(20):
        execution_id = ids[(k * 7919) % len(ids)]
        waiter = asyncio.ensure_future(client.get_handle(execution_id).result())
        await asyncio.sleep(0.002)
        started = time.perf_counter()
        await client.complete_activity(tokens[execution_id], 1)
        await waiter
        resume.append(time.perf_counter() - started)
    return {
        "parked": n,
        "park_rate_per_s": round(n / park_elapsed, 1),
        "worker_rss_mb": fleet.rss_mb(),
        "resume_one_p50_ms": percentile_ms(resume, 0.5),
        "resume_one_max_ms": round(max(resume) * 1000, 3),
    }


async def run_fleet(url: str, count: int, args: argparse.Namespace, only: set[str], w5_n: int) -> dict[str, Any]:
    """Start ``count`` workers, run the chosen workloads against them, stop them."""
    run = f"x{count}-{uuid.uuid4().hex[:6]}"
    figures: dict[str, Any] = {"workers": count, "load_before": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="tether-bench-scaling-") as tmp:
        fleet = Fleet(url, count, Path(tmp))
        try:
            await asyncio.to_thread(fleet.wait_until_ready)
            async with await tether.Client.connect(url) as client:
                workloads: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
                    "W1": lambda: w1(client, args.n, run),
                    "W2": lambda: w2(client, fleet, args.n, run),
                    "W3": lambda: w3(client, fleet, args.heartbeats, run),
                    "W4": lambda: w4(client, args.steps, run),
                    "W5": lambda: w5(client, fleet, w5_n, run),
                }
                for name, body in workloads.items():
                    if name in only and (name != "W5" or w5_n):
                        figures[name] = await body()
                        print(json.dumps({"workers": count, name: figures[name]}), file=sys.stderr, flush=True)
        finally:
            fleet.stop()
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return figures


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", required=True, help="postgresql:// URL of a fresh database")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker process counts")
    parser.add_argument("--only", default="W1,W2,W3,W4", help="comma-separated workloads")
    parser.add_argument("--n", type=int, default=500, help="workflows for W1 and W2")
    parser.add_argument("--heartbeats", type=int, default=10000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--w5", type=int, default=0, help="parked workflows for W5, run with the most workers")
    args = parser.parse_args()
    counts = [int(c) for c in args.workers.split(",")]
    only = {w.strip().upper() for w in args.only.split(",")}
    parsed = urlparse(args.db)
    shown = parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()
    results: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0], "db": shown, "runs": []}
    for count in counts:
        w5_n = args.w5 if count == max(counts) else 0
        results["runs"].append(await run_fleet(args.db, count, args, only | {"W5"} if w5_n else only, w5_n))
    results["scaling"] = _scaling(results["runs"])
    print(json.dumps(results, indent=2))


def _scaling(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Throughput figures side by side, by worker count."""
    keys = [("W1", "workflows_per_s"), ("W2", "completions_per_s"), ("W3", "heartbeats_per_s"),
            ("W4", "w4c_8_at_once_activities_per_s"), ("W4", "ms_per_step")]  # fmt: skip
    table: dict[str, dict[str, float]] = {}
    for workload, key in keys:
        row = {str(r["workers"]): r[workload][key] for r in runs if workload in r}
        if row:
            table[f"{workload}.{key}"] = row
    return table


if __name__ == "__main__":
    asyncio.run(main())
