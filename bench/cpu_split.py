"""Where a workload's CPU time went: this process's threads by role, and PostgreSQL's processes.

A rate says how fast; it does not say whose time it was. Read from ``/proc`` (Linux) before and
after a workload, these figures split the CPU per step or per workflow into the event loop
(``MainThread``: the workflow code, the client calls, asyncio), the store's thread (the
transitions and the driver: ``tether-sqlite`` / ``tether-postgres``), the worker's activity
threads, and for a local PostgreSQL server its backends serving the benchmark's database and its
background processes (WAL writer, checkpointer: the commits' share). What no process spent was
waiting: for a commit's fsync, for the other core, or for a round trip.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")

Snapshot = dict[str, float]
"""CPU seconds so far, by role."""


def _cpu_seconds(stat: Path) -> float:
    """User and system CPU seconds of a process or thread from its ``stat`` file (0 if it ended)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _role(name: str) -> str:
    if name == "MainThread":
        return "loop"
    if name in ("tether-sqlite", "tether-postgres"):
        return "store_thread"
    if name.startswith("tether-activity"):
        return "activity_threads"
    return "other_threads"


def threads() -> Snapshot:
    """This process's CPU seconds by thread role (threads that already ended are not counted)."""
    found: Snapshot = {}
    for thread in threading.enumerate():
        if thread.native_id is None:
            continue
        role = _role(thread.name)
        found[role] = found.get(role, 0.0) + _cpu_seconds(Path(f"/proc/self/task/{thread.native_id}/stat"))
    return found


def process(pid: int) -> Snapshot:
    """Another process's CPU seconds: its main thread (``loop``: a tether server's event loop) and the others.

    A server's other threads are its store's thread above all (the transitions and their commits).
    """
    found: Snapshot = {"loop": 0.0, "other_threads": 0.0}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        found["loop" if task.name == str(pid) else "other_threads"] += _cpu_seconds(task / "stat")
    return found


def postgres(url: str) -> Callable[[], Snapshot]:
    """A reader of the CPU seconds of a local PostgreSQL server's processes, by role.

    ``pg_backends`` are the client backends connected to ``url``'s database (the store's
    connections); ``pg_background`` the server's own processes (WAL writer, checkpointer,
    background writer...), shared with whatever else uses the server. Needs the server on this
    host: ``/proc/<pid>`` of its processes is read directly.
    """
    import psycopg  # only for a PostgreSQL run

    conn = psycopg.connect(url, autocommit=True)

    def read() -> Snapshot:
        rows = conn.execute(
            "SELECT pid, backend_type = 'client backend' AND datname = current_database()"
            " FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND (backend_type <> 'client backend' OR datname = current_database())"
        ).fetchall()
        found: Snapshot = {"pg_backends": 0.0, "pg_background": 0.0}
        for pid, ours in rows:
            found["pg_backends" if ours else "pg_background"] += _cpu_seconds(Path(f"/proc/{pid}/stat"))
        return found

    return read


def per(before: Snapshot, after: Snapshot, count: int, unit: str) -> dict[str, int]:
    """Microseconds of CPU per ``unit`` by role, from two snapshots over ``count`` units."""
    return {
        f"cpu_us_per_{unit}_{role}": round((after.get(role, 0.0) - before.get(role, 0.0)) / count * 1e6)
        for role in sorted(after)
        if after.get(role, 0.0) > before.get(role, 0.0)
    }
