"""Many workers on one PostgreSQL database, one of them killed and restarted mid-run.

Three worker processes share the work of 500 orders (a sync, an async and a heartbeating
activity each) while this process, in the role of a server, starts the orders and
completes the async activities by token. One worker is SIGKILLed once part of the orders
are done, and started again. Every order must complete, every activity result must be
recorded once, and no workflow step may repeat.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tether
from tests.recovery.fleet_process import fleet_order
from tether.errors import ActivityAlreadyClosed, StaleToken
from tether.model.events import EventType

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 500
KILL_AFTER = 150
DEADLINE_S = 240.0
POLL_S = 0.05

# The hang guard outlasts the test's own deadline, so that a slow machine fails it by that deadline's message.
pytestmark = [
    pytest.mark.postgres, pytest.mark.acceptance, pytest.mark.single_backend, pytest.mark.timeout(DEADLINE_S + 60)
]  # fmt: skip


class Fleet:
    """Worker processes on one database; their output goes to log files."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url = url
        self.directory = directory
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    async def start(self, identity: str) -> None:
        log = (self.directory / f"{identity}.log").open("ab")
        with log:
            self.processes[identity] = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.recovery.fleet_process", self.url, str(self.directory), identity,
                cwd=ROOT, stdout=log, stderr=log,
            )  # fmt: skip

    async def kill(self, identity: str) -> None:
        process = self.processes.pop(identity)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    def check_alive(self) -> None:
        for identity, process in self.processes.items():
            if process.returncode is not None:
                log = (self.directory / f"{identity}.log").read_text(errors="replace")
                pytest.fail(f"worker {identity} exited with {process.returncode}:\n{log}")

    async def stop(self) -> None:
        for identity in list(self.processes):
            await self.kill(identity)


def new_tokens(tokens: Path, done: set[str]) -> list[tuple[str, str]]:
    """Token files not seen before: (name, token)."""
    found = [(path.name, path.read_text()) for path in tokens.iterdir() if not path.name.startswith(".")]
    return [(name, token) for name, token in found if name not in done]


async def complete_new_tokens(client: tether.Client, tokens: Path, done: set[str]) -> None:
    for name, token in new_tokens(tokens, done):
        done.add(name)
        value = int(name.split(".")[0].rsplit("-", 1)[1])  # order-<i>.<activity>.<attempt>
        # An attempt that a killed worker left behind may have been retried since.
        with contextlib.suppress(StaleToken, ActivityAlreadyClosed):
            await client.complete_activity(token, value)


async def test_three_workers_one_killed_and_restarted_complete_every_order_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    (tmp_path / "tokens").mkdir()
    fleet = Fleet(postgres_url, tmp_path)
    client = await tether.Client.connect(postgres_url)
    try:
        for identity in ("worker-1", "worker-2", "worker-3"):
            await fleet.start(identity)
        handles = [await client.start_workflow(fleet_order, str(tmp_path), i, id=f"order-{i}") for i in range(ORDERS)]
        done: set[str] = set()
        killed = False
        deadline = time.monotonic() + DEADLINE_S
        while True:
            fleet.check_alive()
            await complete_new_tokens(client, tmp_path / "tokens", done)
            completed = len(await client.list_workflows(status="completed", limit=ORDERS))
            if completed == ORDERS:
                break
            if not killed and completed >= KILL_AFTER:
                await fleet.kill("worker-1")
                await fleet.start("worker-1")
                killed = True
            assert time.monotonic() < deadline, f"only {completed} of {ORDERS} orders completed"
            await asyncio.sleep(POLL_S)  # another process's progress: polled, with a bounded deadline

        assert killed
        results = [await handle.result() for handle in handles]
        assert results == [3 * i for i in range(ORDERS)]
        for i in range(ORDERS):
            assert_ran_once(await client.history(f"order-{i}"))
    finally:
        await fleet.stop()
        await client.close()


def assert_ran_once(history: list[Any]) -> None:
    """One start, one completion; each activity scheduled once, completed once, each step once."""
    kinds = collections.Counter(event.type for event in history)
    assert kinds[EventType.WORKFLOW_STARTED] == 1
    assert kinds[EventType.WORKFLOW_COMPLETED] == 1
    scheduled = [e.data["name"] for e in history if e.type == EventType.ACTIVITY_SCHEDULED]
    assert sorted(scheduled) == sorted({*scheduled})
    assert len(scheduled) == 3
    completed = [e.data["activity_id"] for e in history if e.type == EventType.ACTIVITY_COMPLETED]
    assert sorted(completed) == sorted({*completed})
    assert len(completed) == 3
    # Every workflow task saw new events: no step was decided twice from the same history.
    seen = [e.data["seen"] for e in history if e.type == EventType.WORKFLOW_TASK_COMPLETED]
    assert len(seen) == len(set(seen))
