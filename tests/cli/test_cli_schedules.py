"""``tether schedule``: schedules made and managed from the command line, on a SQLite file and through a server."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import tether
from tests.cli.conftest import Served
from tests.cli.test_cli_sinks import Ran, wide_terminal
from tether.cli.app import app

__all__ = ["wide_terminal"]  # the fixture: tables as a 200-column terminal shows them


@tether.workflow(name="cs.report")
async def report(team: str, days: int) -> str:
    return f"{team}: {days} days"


def schedule(url: str, *args: str) -> Ran:
    """Run ``tether schedule ARGS`` in this process against ``url``."""
    result = CliRunner().invoke(app, ["schedule", *args, "--url", url])
    return Ran(result.exit_code, result.stdout, result.stderr)


def test_schedules_are_made_listed_paused_triggered_and_deleted_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tether.db'}"

    made = schedule(
        url, "create", "weekly", "cs.report", "ops", "7", "--cron", "0 9 * * MON", "--timezone", "Europe/Berlin"
    )
    assert made.returncode == 0, made.stderr
    assert "schedule weekly made; next fire" in made.stderr
    again = schedule(url, "create", "weekly", "cs.report", "ops", "7", "--cron", "0 9 * * *", "--json")
    assert again.returncode == 26
    assert json.loads(again.stderr)["error"] == "schedule_already_exists"
    bad = schedule(url, "create", "other", "cs.report", "--cron", "0 9 * *")
    assert bad.returncode == 9
    assert "cron" in bad.stderr

    table = schedule(url, "list")
    assert "weekly" in table.stdout
    assert "Europe/Berlin" in table.stdout
    listed = json.loads(schedule(url, "list", "--json").stdout)
    assert [(s["schedule_id"], s["args"], s["overlap"]) for s in listed] == [("weekly", ["ops", 7], "skip")]

    assert schedule(url, "pause", "weekly").returncode == 0
    triggered = schedule(url, "trigger", "weekly")
    assert triggered.returncode == 0, triggered.stderr
    execution_id = triggered.stdout.strip()
    assert execution_id.startswith("weekly-")
    assert execution_id.endswith("Z")
    described = json.loads(schedule(url, "describe", "weekly", "--json").stdout)
    assert described["paused"] is True
    assert described["last_execution_id"] == execution_id
    shown = schedule(url, "describe", "weekly")
    assert "started (trigger)" in shown.stdout
    assert execution_id in shown.stdout
    assert schedule(url, "unpause", "weekly", "--json").returncode == 0

    assert schedule(url, "delete", "weekly").returncode == 0
    missing = schedule(url, "describe", "weekly")
    assert missing.returncode == 8
    assert "schedule_not_found" in missing.stderr


def test_a_schedule_made_through_a_server_is_triggered_and_its_execution_runs(server: Served) -> None:
    made = server.run("schedule", "create", "ratios", "cli.ratio", "6", "3", "--cron", "0 9 * * *", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["workflow"] == "cli.ratio"
    triggered = server.run("schedule", "trigger", "ratios")
    assert triggered.returncode == 0, triggered.stderr
    execution_id = triggered.stdout.strip()
    result = server.run("workflow", "result", execution_id, "--timeout", "20")
    assert json.loads(result.stdout) == 2.0
    listed = json.loads(server.run("schedule", "list", "--json").stdout)
    assert [(s["schedule_id"], s["last_execution_id"]) for s in listed] == [("ratios", execution_id)]
    unknown = server.run("schedule", "pause", "nothing")
    assert unknown.returncode == 8
