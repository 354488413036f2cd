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
