"""``tether activity list --overdue`` against a SQLite file and against a real server process.

The activities are parked in the past by a TestEnvironment whose virtual clock starts days ago;
the CLI (and the server) run later on the system clock, in processes that hold none of this
code: what they know of each activity's ``overdue_after`` comes from the store.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import tether
from tests.cli.conftest import ROOT, TETHER, start_server, stop_server
from tests.helpers.activity_tests import Mailbox, post_context
from tether.testing import TestEnvironment

pytestmark = pytest.mark.acceptance

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@tether.activity(name="cli_overdue.callback", overdue_after=2 * DAY)
async def callback(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(name="cli_overdue.plain")
async def plain(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.activity(name="cli_overdue.timed", timeout=4 * DAY)
async def timed(order: str) -> str:
    post_context()
    return tether.make_async()


@tether.workflow(name="cli_overdue.flow")
async def flow(activity: str, order: str) -> str:
    return await {a.name: a for a in (callback, plain, timed)}[activity](order)


async def park_in_the_past(path: Path) -> None:
    """Park, on the file's store: cb-3d (its own 2 days passed), cb-1d (not yet), plain-3d, timed-3d
    (its total timeout of 4 days falls in about a day from now); the clock starts 3 days and 5 minutes ago."""
    start = datetime.now(UTC) - 3 * DAY - timedelta(minutes=5)
    async with TestEnvironment(path=path, start=start, workflows=[flow], activities=[callback, plain, timed]) as env:
        for activity, execution_id in ((callback, "cb-3d"), (plain, "plain-3d"), (timed, "timed-3d")):
            mailbox = Mailbox(execution_id)
            await env.client.start_workflow(flow, activity.name, "o", id=execution_id)
            await mailbox.context()
        await env.wait_for_idle()
        await env.advance(2 * DAY)
        mailbox = Mailbox("cb-1d")
        await env.client.start_workflow(flow, callback.name, "o", id="cb-1d")
        await mailbox.context()
        await env.wait_for_idle()


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TETHER, "activity", "list", *args, "--url", url], capture_output=True, text=True, cwd=ROOT, check=False,
        timeout=60, env={**{k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}, "COLUMNS": "250"},
    )  # fmt: skip


def listed(done: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    assert done.returncode == 0, done.stderr
    return {item["execution_id"]: item["reasons"] for item in json.loads(done.stdout)}


async def test_overdue_against_a_sqlite_file_lists_by_own_limit_default_and_deadline(tmp_path: Path) -> None:
    await park_in_the_past(tmp_path / "t.db")
    url = f"sqlite:///{tmp_path / 't.db'}"

    by_default = run(url, "--overdue", "--json")
    longer_default = run(url, "--overdue", "--waiting-longer-than", "4d", "--json")
    near = run(url, "--overdue", "--waiting-longer-than", "off", "--due-within", "2d", "--json")
    table = run(url, "--overdue")

    assert listed(by_default) == {"cb-3d": ["waiting"], "plain-3d": ["waiting"], "timed-3d": ["waiting"]}
    assert listed(longer_default) == {"cb-3d": ["waiting"]}  # its own 2 days, whatever the default
    assert listed(near) == {"cb-3d": ["waiting"], "timed-3d": ["deadline"]}
    assert table.returncode == 0, table.stderr
    assert "waiting 3d, longer than 2d (its overdue_after)" in table.stdout
    assert "longer than 1d (the default)" in table.stdout
    assert "cb-1d" not in table.stdout


async def test_overdue_against_a_server_process_that_holds_none_of_the_code(tmp_path: Path) -> None:
    await park_in_the_past(tmp_path / "tether.db")  # the file the server opens
    served = start_server(tmp_path)
    try:
        by_default = served.run("activity", "list", "--overdue", "--json")
        near = served.run("activity", "list", "--overdue", "--waiting-longer-than", "off", "--due-within", "2d")
        paged = served.run("activity", "list", "--overdue", "--limit", "1", "--offset", "1", "--json")
        both = served.run("activity", "list", "--overdue", "--waiting")
        bad = served.run("activity", "list", "--overdue", "--due-within", "soon")
    finally:
        stop_server(served)

    assert listed(by_default) == {"cb-3d": ["waiting"], "plain-3d": ["waiting"], "timed-3d": ["waiting"]}
    assert near.returncode == 0, near.stderr
    assert "timed-3d" in near.stdout
    assert "total deadline in 23h 54m" in near.stdout or "total deadline in 23h 55m" in near.stdout
    assert "plain-3d" not in near.stdout
    assert list(listed(paged)) == ["plain-3d"]
    assert both.returncode == 2
    assert "not both" in both.stderr
    assert bad.returncode == 2
    assert "not a positive duration" in bad.stderr
