"""Priority on the command line: ``workflow start --priority`` and ``workflow show`` saying it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import tether
from tether.cli import app, output


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a 200-column terminal shows them (the console is made at import, so COLUMNS comes too late)."""
    monkeypatch.setattr(output, "out", Console(width=200, soft_wrap=True))


@tether.workflow(name="cli.prioritised")
async def prioritised() -> str:
    return "done"


async def _started(url: str, execution_id: str, priority: int) -> None:
    async with await tether.Client.connect(url) as client:  # no worker: the execution waits, running
        await client.start_workflow(prioritised, id=execution_id, priority=priority)


def test_workflow_show_says_the_priority_an_execution_was_started_with(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    asyncio.run(_started(url, "urgent", 7))
    asyncio.run(_started(url, "ordinary", 0))
    described = CliRunner().invoke(app, ["workflow", "show", "urgent", "--url", url, "--json"])
    assert described.exit_code == 0, described.output
    assert json.loads(described.stdout)["priority"] == 7
    table = CliRunner().invoke(app, ["workflow", "show", "urgent", "--url", url])
    assert table.exit_code == 0, table.output
    assert [line.split() for line in table.stdout.splitlines() if line.startswith("priority")] == [["priority", "7"]]
    ordinary = CliRunner().invoke(app, ["workflow", "show", "ordinary", "--url", url])
    assert ordinary.exit_code == 0, ordinary.output
    assert "priority" not in ordinary.stdout


def test_workflow_start_gives_the_execution_its_priority(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    started = CliRunner().invoke(
        app, ["workflow", "start", "cli.prioritised", "--id", "urgent", "--priority", "-4", "--url", url]
    )
    assert started.exit_code == 0, started.output
    described = CliRunner().invoke(app, ["workflow", "show", "urgent", "--url", url, "--json"])
    assert json.loads(described.stdout)["priority"] == -4


def test_workflow_start_refuses_a_priority_out_of_range_and_starts_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    refused = CliRunner().invoke(
        app, ["workflow", "start", "cli.prioritised", "--id", "too-high", "--priority", str(2**31), "--url", url]
    )
    assert refused.exit_code == 2
    assert "usage_error" in refused.stderr
    assert "priority must be an int" in refused.stderr
    listed = CliRunner().invoke(app, ["workflow", "list", "--url", url, "--json"])
    assert json.loads(listed.stdout) == []
