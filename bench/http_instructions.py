"""A tether server's instructions per call by token over HTTP, counted by callgrind rather than timed.

Run with ``bin/bench --instructions --only W2_http,W3_http`` (valgrind must be installed). A
``tether server --worker bench.http_workload`` process runs under ``valgrind --tool=callgrind``
on a fresh SQLite file with ``synchronous=OFF`` (or on the fresh PostgreSQL database ``--db``
names: the count is then the server process's alone, not PostgreSQL's); this process parks workflows through it, then
sends calls one at a time from one client: 100, then 300. The server's counters are zeroed
before each run of calls and dumped after it (``callgrind_control``), and the difference
divided by 200 is what one call costs the server, start-up, parking and the fixed cost of a
dump left out. W2_http completes activities whose workflows then close (the transition by
token, the workflow's last step run inside it, the commit, the request and its answer, the
access line and the telemetry); W3_http heartbeats. Counts move by about half a percent from
run to run, where the server's CPU time per call over HTTP moves by 15% on a busy machine:
compare changes to the token path with these.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import tether
from bench.http_bench import Server, _park

SIZES = (100, 300)
"""The two runs of calls whose difference is counted."""

_WARM = 5
"""Calls made before counting: the first of a kind imports and compiles what later ones reuse."""

UNITS = {"W2_http": "server_instructions_per_completion", "W3_http": "server_instructions_per_heartbeat"}


def serve() -> None:
    """``tether server`` with the SQLite store's poll for other processes' commits moved out of the way.

    The poll fires on wall time (every 20 ms); under callgrind a call takes fifty times longer,
    so it would add a count per call that depends on the machine's speed.
    """
    from tether.cli import main
    from tether.store.sqlite import store as sqlite_store

    sqlite_store._EXTERNAL_POLL_SECONDS = 3600.0
    sys.argv = ["tether", *sys.argv[2:]]
    main()


def count(workloads: list[str], db: str | None = None) -> dict[str, float]:
    """Instructions per call for each of ``workloads`` (W2_http, W3_http), from one server under callgrind.

    ``db``: a fresh PostgreSQL database for the server (ids repeat from run to run); a SQLite file if None.
    """
    return asyncio.run(_count(workloads, db))


async def _count(workloads: list[str], db: str | None) -> dict[str, float]:
    small, large = SIZES
    found: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tether-bench-instructions-") as tmp:
        folder = Path(tmp)
        dumps = folder / "callgrind.out"
        launch = (
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={dumps}", "--dump-instr=no",
            sys.executable, "-m", "bench.http_instructions", "--serve",
        )  # fmt: skip
        server = Server(folder, db or f"sqlite:///{folder / 'bench.db'}?synchronous=OFF", launch)
        client = await tether.Client.connect(server.url)
        try:
            for workload in workloads:
                tokens = list((await _park([client], server, _WARM + small + large, workload)).values())
                await _calls(client, workload, tokens[:_WARM])
                short = await _counted(server, dumps, _calls(client, workload, tokens[_WARM : _WARM + small]))
                long = await _counted(server, dumps, _calls(client, workload, tokens[_WARM + small :]))
                found[workload] = (long - short) / (large - small)
        finally:
            await client.close()
            server.stop()
    return found


async def _calls(client: tether.Client, workload: str, tokens: list[str]) -> None:
    for token in tokens:
        if workload == "W2_http":
            await client.complete_activity(token, 1)
        else:
            await client.heartbeat_activity(token, {"progress": 1, "note": "working"})


async def _counted(server: Server, dumps: Path, calls: Coroutine[Any, Any, None]) -> int:
    """The server's instructions while ``calls`` run: zeroed before, dumped after."""
    pid = str(server.process.pid)
    await asyncio.to_thread(_control, "--zero", pid)
    await calls
    before = set(dumps.parent.glob(f"{dumps.name}*"))
    await asyncio.to_thread(_control, "--dump", pid)
    (dumped,) = set(dumps.parent.glob(f"{dumps.name}*")) - before
    return _total(dumped)


def _control(action: str, pid: str) -> None:
    subprocess.run(["callgrind_control", action, pid], check=True, capture_output=True)


def _total(dump: Path) -> int:
    """The instructions a callgrind dump counted."""
    with dump.open() as lines:
        for line in lines:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise SystemExit(f"no total in {dump}")


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve()
