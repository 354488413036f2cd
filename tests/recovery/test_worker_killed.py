"""A worker process killed mid-activity: a new worker on the same store retries the attempt and finishes."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tether
from tests.helpers.workflows import events_of
from tests.recovery.worker_process import effects, wk_long, wk_pipeline, wk_record
from tether.model.events import EventType
from tether.testing import TestEnvironment

ROOT = Path(__file__).resolve().parents[2]
TETHER = str(Path(sys.executable).parent / "tether")
"""The installed `tether` command: the test kills a `tether worker` process, as production would run it."""
STARTUP_DEADLINE_S = 60.0


def output_of(log: Path) -> str:
    return log.read_text(errors="replace")


async def wait_until(condition: Callable[[], bool], what: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    """Poll another process's progress, with a bounded deadline."""
    deadline = time.monotonic() + STARTUP_DEADLINE_S
    while not condition():
        if proc.returncode is not None:
            pytest.fail(f"the worker process exited with {proc.returncode} before {what}:\n{output_of(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {STARTUP_DEADLINE_S}s:\n{output_of(log)}")
        await asyncio.sleep(0.05)


async def start_worker_process(url: str, log: Path) -> asyncio.subprocess.Process:
    """Run ``tether worker`` on this module's workflows and activities, its output going to ``log``."""
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            TETHER, "worker", "tests.recovery.worker_process", "--db", url, cwd=ROOT, stdout=output, stderr=output
        )


@pytest.mark.acceptance
async def test_attempt_of_a_killed_worker_is_retried_by_a_new_worker_and_the_workflow_completes(
    tmp_path: Path, store_url: str
) -> None:
    url = store_url
    async with await tether.Client.connect(url) as client:
        await client.start_workflow(wk_pipeline, str(tmp_path), id="killed")
    log = tmp_path / "worker.log"
    proc = await start_worker_process(url, log)
    try:
        await wait_until(
            lambda: "long started, attempt 1" in effects(tmp_path), "start of the long activity", proc, log
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert effects(tmp_path) == ["first", "long started, attempt 1"]

    async with TestEnvironment(
        url=url, start=datetime.now(UTC), workflows=[wk_pipeline], activities=[wk_record, wk_long]
    ) as env:
        handle = env.client.get_handle("killed")
        result = await handle.result()
        history = await handle.history()

    assert result == ["first", "long done on attempt 2", "last"]
    assert effects(tmp_path) == [
        "first",
        "long started, attempt 1",
        "long started, attempt 2",
        "long finished, attempt 2",
        "last",
    ]
    long_id = events_of(history, EventType.ACTIVITY_SCHEDULED, name="wk_long")[0].data["activity_id"]
    [failed] = events_of(history, EventType.ACTIVITY_ATTEMPT_FAILED, activity_id=long_id)
    assert failed.data["attempt"] == 1
    [completed] = events_of(history, EventType.ACTIVITY_COMPLETED, activity_id=long_id)
    assert completed.data["attempt"] == 2
    assert len(events_of(history, EventType.ACTIVITY_COMPLETED)) == 3
    assert len(events_of(history, EventType.WORKFLOW_STARTED)) == 1
