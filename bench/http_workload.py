"""Workflows the HTTP benchmark's server runs: each parks on an async activity and hands out its token.

Tokens are appended to the file BENCH_TOKENS names, one per line, as a queue would carry them.
"""

from __future__ import annotations

import os
import threading

import tether

_lock = threading.Lock()


@tether.activity(name="bench_http.park")
def park(i: int) -> int:  # a sync activity: it runs in the worker's thread pool, where file writes belong
    line = f"{tether.context().execution_id} {tether.context().token}\n"
    with _lock, open(os.environ["BENCH_TOKENS"], "a", encoding="utf-8") as tokens:
        tokens.write(line)
    return tether.make_async()


@tether.workflow(name="bench_http.parked")
async def parked(i: int) -> int:
    return await park(i)
