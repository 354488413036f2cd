"""Workflows and activities the scaling benchmark's ``tether worker`` processes run.

The benchmark process starts and completes them through its own client; an activity that
parks hands its token over by appending it to a file of its process under the directory
``BENCH_TOKENS`` names, as a queue would carry it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import tether

_lock = threading.Lock()


@tether.activity(name="bench_scale.add")
def add(x: int) -> int:
    return x + 1


@tether.activity(name="bench_scale.add_async")
async def add_async(x: int) -> int:
    return x + 1


@tether.activity(name="bench_scale.park", heartbeat=None)
def park(i: int) -> int:  # a sync activity: it runs in the worker's thread pool, where file writes belong
    line = f"{tether.context().execution_id} {tether.context().token}\n"
    with _lock, open(Path(os.environ["BENCH_TOKENS"]) / f"{os.getpid()}.txt", "a", encoding="utf-8") as tokens:
        tokens.write(line)
    return tether.make_async()


@tether.workflow(name="bench_scale.one_sync")
async def one_sync(x: int) -> int:
    return await add(x)


@tether.workflow(name="bench_scale.parked")
async def parked(i: int) -> int:
    return await park(i)


@tether.workflow(name="bench_scale.sequence")
async def sequence(n: int) -> int:
    total = 0
    for i in range(n):
        total += await add(i)
    return total


@tether.workflow(name="bench_scale.sequence_async")
async def sequence_async(n: int) -> int:
    total = 0
    for i in range(n):
        total += await add_async(i)
    return total
