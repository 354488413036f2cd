"""W4's CPU cost per step, counted in instructions by callgrind rather than timed.

Run with ``bin/bench --instructions`` (valgrind must be installed). It runs the W4
sequence (sync activities, one after another) under ``valgrind --tool=callgrind`` for 50
and for 250 steps on a fresh SQLite file with ``synchronous=OFF`` and prints the
difference divided by 200: start-up, imports and the fsync drop out, and the count does
not depend on how busy the machine is, as wall time on a shared machine does.

The store's poll for commits by other processes fires on wall time (every 20 ms);
under callgrind a step takes about fifty times longer, so the poll would add a count per
step that depends on the machine's speed. The runs move it out of the way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import tether
from bench.bench import add, sequence
from tether.store import sqlite as sqlite_store


async def _run(steps: int) -> None:
    sqlite_store._EXTERNAL_POLL_SECONDS = 3600.0  # see the module docstring
    with tempfile.TemporaryDirectory() as directory:
        client = await tether.Client.connect(f"sqlite:///{Path(directory) / 'w4.db'}?synchronous=OFF")
        try:
            async with tether.Worker(client, workflows=[sequence], activities=[add]):
                handle = await client.start_workflow(sequence, steps)
                assert await handle.result() == steps * (steps + 1) // 2
        finally:
            await client.close()


def _count(steps: int) -> subprocess.Popen[str]:
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "bench.instructions", "--run", str(steps),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _collected(process: subprocess.Popen[str]) -> int:
    _, err = process.communicate()
    found = re.search(r"Collected : (\d+)", err)
    if process.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run failed:\n{err}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run is not None:
        asyncio.run(_run(args.run))
        return
    short, long = _count(50), _count(250)
    per_step = (_collected(long) - _collected(short)) / 200
    print(json.dumps({"workload": "W4", "instructions_per_step": round(per_step)}))


if __name__ == "__main__":
    main()
