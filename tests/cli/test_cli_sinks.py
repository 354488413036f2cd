"""``tether sinks``: notification sinks managed in the store, their secrets shown once, with distinct exit codes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tether.cli import output
from tether.cli.app import app


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as a 200-column terminal shows them (the console is made at import, so COLUMNS comes too late)."""
    monkeypatch.setattr(output, "out", Console(width=200, soft_wrap=True))


def sinks(db: str, *args: str) -> Ran:
    """Run ``tether sinks ARGS`` in this process (the commands open the store themselves)."""
    result = CliRunner().invoke(app, ["sinks", *args, "--db", db])
    return Ran(result.exit_code, result.stdout, result.stderr)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def test_sinks_are_added_listed_rotated_and_removed_with_their_secrets_shown_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tether.db'}"
    url = "https://hooks.example.com/tether"

    added = sinks(db, "add", url, "--every-inbox-item")
    again = sinks(db, "add", url)
    listed = json.loads(sinks(db, "list", "--json").stdout)
    rotated = json.loads(sinks(db, "rotate", url, "--json").stdout)
    removed = sinks(db, "remove", listed[0]["sink_id"])
    unknown = sinks(db, "remove", url)
    table = sinks(db, "list")

    assert added.returncode == 0, added.stderr
    secret = added.stdout.strip()
    assert secret.startswith("whsec_")
    assert "shown this once" in added.stderr
    assert (again.returncode, "already" in again.stderr) == (2, True)
    assert [(s["url"], s["every_inbox_item"], s["disabled_at"]) for s in listed] == [(url, True, None)]
    assert secret not in json.dumps(listed)
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != secret
    assert removed.returncode == 0, removed.stderr
    assert (unknown.returncode, "sink_not_found" in unknown.stderr) == (8, True)
    assert url in table.stdout
    assert secret not in table.stdout
