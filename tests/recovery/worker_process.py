"""Workflows and activities of the kill and stop tests, run by ``tether worker tests.recovery.worker_process --db URL``.

The test that kills that process runs the same workflow and activities in process afterwards,
so they are defined here. Activities record what they did, one line each, in ``effects.log`` of the directory the
workflow is given.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import tether

HEARTBEAT = timedelta(seconds=5)
"""Heartbeat timeout of wk_long: a killed worker's attempt is retried once it passes."""


def record(directory: str, line: str) -> None:
    """Append one side effect to the log (opened, written and closed at once, so a kill loses nothing)."""
    with (Path(directory) / "effects.log").open("a") as log:
        log.write(f"{line}\n")


def effects(directory: str | Path) -> list[str]:
    """The side effects recorded so far, in order."""
    path = Path(directory) / "effects.log"
    return path.read_text().splitlines() if path.exists() else []


@tether.activity
def wk_record(directory: str, step: str) -> str:
    record(directory, step)
    return step


@tether.activity(heartbeat=HEARTBEAT, retry=tether.RetryPolicy(max_attempts=3, initial_interval=timedelta(seconds=1)))
async def wk_long(directory: str) -> str:
    ctx = tether.context()
    record(directory, f"long started, attempt {ctx.attempt}")
    if ctx.attempt == 1:
        # Blocks, heartbeating slowly, until the process is killed.
        beat = 0
        while True:
            beat += 1
            await tether.heartbeat({"beat": beat})
            await asyncio.sleep(0.5)
    record(directory, f"long finished, attempt {ctx.attempt}")
    return f"long done on attempt {ctx.attempt}"


@tether.workflow
async def wk_pipeline(directory: str) -> list[str]:
    first = await wk_record(directory, "first")
    long = await wk_long(directory)
    last = await wk_record(directory, "last")
    return [first, long, last]


@tether.activity
def wk_hang(directory: str) -> str:
    record(directory, "hang started")
    threading.Event().wait()  # a sync call that never returns
    return "never"


@tether.workflow
async def wk_hung(directory: str) -> str:
    return await wk_hang(directory)
