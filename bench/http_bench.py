"""tether HTTP benchmark: W2 and W3 through a tether server, from 8 concurrent clients.

Run with ``bin/bench --http`` (``--n``, ``--heartbeats``, ``--clients`` to vary; ``--only W2b --w2b 500``
runs only the one-at-a-time completions, more of them). A ``tether
server`` process with a worker serves a fresh SQLite file (WAL, synchronous=FULL), or the database
``--db`` names (a fresh one: the workflows' ids repeat from run to run); this process
plays the services that hold tokens: each client is a Client with its own connection pool.
W2b also reports a bare HTTP round trip on this host (``w2b_bare_http_round_trip_ms``, see
:mod:`bench.host`), back to back and after the same pause as W2b's, timed in the same minutes.
W2 and W3 also report the server process's CPU time per call (read from /proc), split into its
event loop's thread (``server_cpu_us_per_<call>_loop``) and its other threads, its store's thread
above all (``..._other_threads``), and this process's CPU time per call (the clients': their
connections, encoding, decoding), which depend less on how busy the machine is than the rates
do. The server's W2 figure is per completion while the calls are made (the worker resumes
workflows meanwhile) and per completed workflow until every resumed one closed. W3 serial sends
heartbeats one at a time from one client: its CPU times per call are the client's and the
server's own costs, without eight clients' turns in between.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import tether
from bench import cpu_split, host
from bench.figures import percentile_ms

ROOT = Path(__file__).resolve().parent.parent

_SERVE = (sys.executable, "-c", "from tether.cli import main; main()")
"""The command that runs ``tether`` with this interpreter (the server's arguments follow it)."""


class Server:
    """A ``tether server --worker bench.http_workload`` process on a free loopback port."""

    def __init__(self, folder: Path, db: str | None = None, launch: Sequence[str] = _SERVE) -> None:
        """``launch``: the command before the server's arguments (another runs it under a profiler, say)."""
        self.tokens = folder / "tokens.txt"
        self.tokens.touch()
        # This checkout's own code, even where the environment's install of tether points at another checkout.
        env = {**os.environ, "BENCH_TOKENS": str(self.tokens), "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
        self.process = subprocess.Popen(
            [*launch, "server", "--port", "0",
             "--db", db or f"sqlite:///{folder / 'bench.db'}", "--worker", "bench.http_workload"],
            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )  # fmt: skip
        assert self.process.stderr is not None
        for line in self.process.stderr:
            if "tether server on " in line:
                self.url = line.split("tether server on ", 1)[1].split()[0]
                break
        else:
            raise RuntimeError("the server did not start")
        # The server logs a line per request: drained, or it would block once the pipe is full.
        threading.Thread(target=_drain, args=(self.process.stderr,), daemon=True).start()
        self._read = 0

    async def wait_for_tokens(self, count: int) -> dict[str, str]:
        """The next ``count`` tokens handed out, by execution id."""
        found: dict[str, str] = {}
        deadline = time.monotonic() + 120
        while len(found) < count:
            chunk = await asyncio.to_thread(self._unread)
            complete = chunk[: chunk.rfind("\n") + 1]
            self._read += len(complete.encode())
            for line in complete.splitlines():
                execution_id, token = line.split(" ", 1)
                found[execution_id] = token
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(found)} of {count} tokens arrived")
            await asyncio.sleep(0.01)
        return found

    def _unread(self) -> str:
        with open(self.tokens, encoding="utf-8") as lines:
            lines.seek(self._read)
            return lines.read()

    def threads(self) -> cpu_split.Snapshot:
        """The server's CPU seconds so far: its event loop's thread, and the others (its store's thread)."""
        return cpu_split.process(self.process.pid)

    def cpu_seconds(self) -> float:
        """The CPU time (user and system) the server process has used so far (Linux: from /proc)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=60)


def _drain(lines: IO[str]) -> None:
    # In blocks: this process's CPU time is measured, and the log's lines are not read. Closed
    # when the server stops (its last words are read by Popen.communicate).
    with contextlib.suppress(ValueError, OSError):
        while lines.read(65536):
            pass


async def _park(clients: list[tether.Client], server: Server, n: int, prefix: str) -> dict[str, str]:
    sem = asyncio.Semaphore(64)

    async def start(i: int) -> None:
        async with sem:
            await clients[i % len(clients)].start_workflow("bench_http.parked", i, id=f"{prefix}-{i}")

    await asyncio.gather(*(start(i) for i in range(n)))
    return await server.wait_for_tokens(n)


async def w2(clients: list[tether.Client], server: Server, n: int) -> dict[str, Any]:
    tokens = await _park(clients, server, n, "w2")
    items = list(tokens.items())
    latencies: list[float] = []

    async def complete_share(k: int) -> None:
        for _, token in items[k :: len(clients)]:
            started = time.perf_counter()
            await clients[k].complete_activity(token, 1)
            latencies.append(time.perf_counter() - started)

    began, cpu, server_cpu, split = time.perf_counter(), time.process_time(), server.cpu_seconds(), server.threads()
    await asyncio.gather(*(complete_share(k) for k in range(len(clients))))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    calls_cpu = server.cpu_seconds() - server_cpu
    split_per = cpu_split.per(split, server.threads(), n, "completion")
    for execution_id, _ in items:  # every resumed workflow closed: the whole work the completions caused
        await clients[0].get_handle(execution_id).result(timeout=60)
    closed_cpu = server.cpu_seconds() - server_cpu
    return {
        "n": n,
        "clients": len(clients),
        "completions_per_s": round(n / elapsed, 1),
        "server_cpu_us_per_completion": round(calls_cpu / n * 1e6),
        **{f"server_{name}": value for name, value in split_per.items()},
        "server_cpu_us_per_completed_workflow": round(closed_cpu / n * 1e6),
        "complete_call_p50_ms": percentile_ms(latencies, 0.5),
        "complete_call_p99_ms": percentile_ms(latencies, 0.99),
        "client_cpu_us_per_complete": round(cpu / n * 1e6),
    }


async def w2b(clients: list[tether.Client], server: Server, rounds: int, pause: float = 0.005) -> dict[str, Any]:
    """One completion at a time, each timed from the complete call to the result a long poll awaits.

    ``pause``: seconds between asking for the result and completing, so that the long poll is in
    place; the machine is idle meanwhile (``bin/bench --host`` times a bare HTTP round trip after
    the same pause: a pause costs time on a host whose idle cores are slow to wake).
    """
    single: list[float] = []
    for i in range(rounds):
        ((execution_id, token),) = (await _park(clients, server, 1, f"w2b-{i}")).items()
        waiter = asyncio.ensure_future(clients[1].get_handle(execution_id).result(timeout=60))
        await asyncio.sleep(pause)
        started = time.perf_counter()
        await clients[0].complete_activity(token, 1)
        await waiter
        single.append(time.perf_counter() - started)
    return {
        "w2b_rounds": rounds,
        "w2b_pause_ms": round(pause * 1000, 3),
        "w2b_complete_to_result_p50_ms": percentile_ms(single, 0.5),
        "w2b_complete_to_result_p95_ms": percentile_ms(single, 0.95),
        "w2b_complete_to_result_p99_ms": percentile_ms(single, 0.99),
    }


async def w3(clients: list[tether.Client], server: Server, beats: int, serial_beats: int) -> dict[str, Any]:
    tokens = list((await _park(clients, server, 100, "w3")).values())
    per_client = beats // len(clients)
    latencies: list[float] = []

    async def beat(k: int) -> None:
        for j in range(per_client):
            token = tokens[(k + j * len(clients)) % len(tokens)]
            started = time.perf_counter()
            await clients[k].heartbeat_activity(token, {"progress": j, "note": "working"})
            latencies.append(time.perf_counter() - started)

    began, cpu, own, split = time.perf_counter(), server.cpu_seconds(), time.process_time(), server.threads()
    await asyncio.gather(*(beat(k) for k in range(len(clients))))
    elapsed, cpu, own = time.perf_counter() - began, server.cpu_seconds() - cpu, time.process_time() - own
    sent = per_client * len(clients)
    split_per = cpu_split.per(split, server.threads(), sent, "heartbeat")
    serial: list[float] = []
    own_serial, server_serial = time.process_time(), server.cpu_seconds()
    for j in range(serial_beats):
        started = time.perf_counter()
        await clients[0].heartbeat_activity(tokens[j % len(tokens)], {"progress": j, "note": "working"})
        serial.append(time.perf_counter() - started)
    own_serial, server_serial = time.process_time() - own_serial, server.cpu_seconds() - server_serial
    return {
        "heartbeats": sent,
        "clients": len(clients),
        "heartbeats_per_s": round(sent / elapsed, 1),
        "server_cpu_us_per_heartbeat": round(cpu / sent * 1e6),
        **{f"server_{name}": value for name, value in split_per.items()},
        "client_cpu_us_per_heartbeat": round(own / sent * 1e6),
        "p50_ms": percentile_ms(latencies, 0.5),
        "p99_ms": percentile_ms(latencies, 0.99),
        "serial_heartbeats": serial_beats,
        "serial_client_cpu_us_per_heartbeat": round(own_serial / max(1, serial_beats) * 1e6),
        "serial_server_cpu_us_per_heartbeat": round(server_serial / max(1, serial_beats) * 1e6),
        "serial_p50_ms": percentile_ms(serial, 0.5),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="parked workflows completed in W2")
    parser.add_argument("--heartbeats", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--serial", type=int, default=2000, help="heartbeats sent one at a time after W3")
    parser.add_argument("--w2b", type=int, default=100, help="completions one at a time, each awaited as a result")
    parser.add_argument(
        "--w2b-pause", type=float, default=5.0, help="W2b: milliseconds between asking for a result and completing"
    )
    parser.add_argument(
        "--db",
        help="the server's store (default: a fresh SQLite file); a postgresql:// database must be fresh: ids repeat",
    )
    parser.add_argument(
        "--only", default="W2,W2b,W3", help="comma-separated workloads: W2 (8 clients at once), W2b (one at a time), W3"
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    if not only <= {"W2", "W2b", "W3"}:
        parser.error(f"--only takes W2, W2b and W3, not {args.only!r}")
    results: dict[str, Any] = {"cores": os.cpu_count(), "python": sys.version.split()[0], "transport": "http"}
    with tempfile.TemporaryDirectory(prefix="tether-bench-http-") as tmp:
        server = Server(Path(tmp), args.db)
        clients = [await tether.Client.connect(server.url) for _ in range(args.clients)]
        try:
            if only & {"W2", "W2b"}:
                w2_figures = await w2(clients, server, args.n) if "W2" in only else {}
                if "W2b" in only:
                    w2_figures.update(await w2b(clients, server, args.w2b, args.w2b_pause / 1000))
                    # The host's own cost of the same pause, in the same minutes: a bare HTTP round trip.
                    bare = await asyncio.to_thread(host.http_round_trip_ms, 200, (0, args.w2b_pause))
                    w2_figures["w2b_bare_http_round_trip_ms"] = bare
                results["W2_http"] = w2_figures
                print(json.dumps({"W2_http": results["W2_http"]}), file=sys.stderr, flush=True)
            if "W3" in only:
                results["W3_http"] = await w3(clients, server, args.heartbeats, args.serial)
                print(json.dumps({"W3_http": results["W3_http"]}), file=sys.stderr, flush=True)
        finally:
            for client in clients:
                await client.close()
            server.stop()
    store = args.db or "sqlite (temporary file, WAL, synchronous=FULL)"
    results["db"] = f"{store}, served by one tether server process"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
