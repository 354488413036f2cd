"""What this host gives any engine, for scale beside tether's figures: bare commits and pgbench.

Run with ``bin/bench --host [--db postgresql://...]``. It prints, as JSON:

- ``sqlite_commit_ms``: one durable commit of a one-row INSERT on a fresh SQLite file in the
  mode tether uses (WAL, ``synchronous=FULL``), median of ``--commits`` in a row: the floor
  under every SQLite transition, whatever the engine above it does.
- with ``--db``: ``postgres_commit_ms``, the same one-row INSERT committed on the server
  (``synchronous_commit`` as the server has it), and ``pgbench_tps`` / ``pgbench_ms``, the
  TPC-B-like transaction of ``pgbench`` from one client for ``--seconds`` on a scratch
  database it creates and drops (left out when ``pgbench`` is not on the PATH).
- ``http_round_trip_ms``: one small POST answered by a bare ASGI app (:mod:`bench.bare_asgi`)
  served by uvicorn as ``tether server`` is (uvloop, httptools), one at a time from one
  keep-alive connection, median of ``--calls``: back to back (``"0"``) and after the machine sat
  idle for 5 and 20 ms before each call (``"5"``, ``"20"``; W2b leaves 5 ms before each
  completion so that its long poll is in place). On a virtual machine an idle core is slow to
  wake and its caches are cold: the same call costs more time and CPU after a pause.

Nothing of tether runs here: these are the machine's and the database's own costs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def sqlite_commit_ms(commits: int) -> float:
    """Median milliseconds of one durable one-row commit on a fresh WAL file."""
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "host.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        times = []
        for i in range(commits):
            began = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (str(i),))
            conn.execute("COMMIT")
            times.append(time.perf_counter() - began)
        conn.close()
    return round(statistics.median(times) * 1000, 3)


def postgres_commit_ms(url: str, commits: int) -> float:
    """Median milliseconds of one committed one-row INSERT on the server, one client, no pipeline."""
    import psycopg  # only for a PostgreSQL run

    table = f"tether_host_commit_{int(time.time())}"  # not a temporary table: those skip the WAL
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id serial PRIMARY KEY, v text)")
        try:
            times = []
            for i in range(commits):
                began = time.perf_counter()
                conn.execute(f"INSERT INTO {table} (v) VALUES (%s)", (str(i),))
                times.append(time.perf_counter() - began)
        finally:
            conn.execute(f"DROP TABLE {table}")
    return round(statistics.median(times) * 1000, 3)


def pgbench(url: str, seconds: int) -> dict[str, Any]:
    """pgbench's single-client TPS on a scratch database created next to ``url``'s and dropped after."""
    if shutil.which("pgbench") is None:
        return {}
    import psycopg

    scratch = f"tether_host_{int(time.time())}"
    parts = urlsplit(url)
    scratch_url = urlunsplit(parts._replace(path=f"/{scratch}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {scratch}")
    try:
        subprocess.run(["pgbench", "-i", "-q", "-s", "1", scratch_url], check=True, capture_output=True)
        out = subprocess.run(
            ["pgbench", "-c", "1", "-T", str(seconds), scratch_url], check=True, capture_output=True, text=True
        ).stdout
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {scratch}")
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"pgbench_tps": round(tps, 1), "pgbench_ms": round(1000 / tps, 3)}


_BODY = b'{"token": "' + b"t" * 200 + b'", "result": 1}'
_REQUEST = (
    b"POST /v1/activities/complete HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
    b"content-length: " + str(len(_BODY)).encode() + b"\r\n\r\n" + _BODY
)
"""A request of the size of a small completion (the app reads and ignores it)."""

_PAUSES_MS = (0, 5, 20)


def http_round_trip_ms(calls: int, pauses_ms: Sequence[float] = _PAUSES_MS) -> dict[str, float]:
    """Median milliseconds of a bare HTTP round trip on loopback, by idle pause (ms) before each call."""
    # A free port (uvicorn's --fd would take a TCP socket for a Unix one: no TCP_NODELAY, 40 ms answers).
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.bare_asgi:app", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"],
        cwd=root,
    )  # fmt: skip
    try:
        conn = _connect(port, time.monotonic() + 30)
        with conn:
            for _ in range(100):  # warm up: imports, first allocations
                _round_trip(conn)
            medians: dict[str, float] = {}
            for pause_ms in pauses_ms:
                times = []
                for _ in range(calls):
                    if pause_ms:
                        time.sleep(pause_ms / 1000)
                    began = time.perf_counter()
                    _round_trip(conn)
                    times.append(time.perf_counter() - began)
                medians[f"{pause_ms:g}"] = round(statistics.median(times) * 1000, 3)
            return medians
    finally:
        server.terminate()
        server.wait(timeout=30)


def _connect(port: int, deadline: float) -> socket.socket:
    """A connection to the app, once it answers (uvicorn takes a moment to start)."""
    while True:
        try:
            conn = socket.create_connection(("127.0.0.1", port), timeout=10)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _round_trip(conn)
            return conn
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _round_trip(conn: socket.socket) -> None:
    """Send the request and read the whole answer (its body is the last two bytes: ``{}``)."""
    conn.sendall(_REQUEST)
    answer = b""
    while not answer.endswith(b"\r\n\r\n{}"):
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("the app closed the connection")
        answer += chunk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", help="a PostgreSQL URL: also its bare commit and pgbench with one client")
    parser.add_argument("--commits", type=int, default=500, help="commits timed for each median")
    parser.add_argument("--seconds", type=int, default=10, help="how long pgbench runs")
    parser.add_argument("--calls", type=int, default=400, help="HTTP round trips timed for each median")
    args = parser.parse_args()
    figures: dict[str, Any] = {"sqlite_commit_ms": sqlite_commit_ms(args.commits)}
    figures["http_round_trip_ms"] = http_round_trip_ms(args.calls)
    if args.db:
        figures["postgres_commit_ms"] = postgres_commit_ms(args.db, args.commits)
        figures.update(pgbench(args.db, args.seconds))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
