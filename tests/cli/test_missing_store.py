"""Commands that only read or close, pointed at a SQLite file that does not exist, say so and create nothing.

Commands that put something in a store (a server, a worker, a start, a new key) still create it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import DEADLINE_SECONDS, ROOT, TETHER

pytestmark = pytest.mark.acceptance

TOKEN = "WzEsIngiLDEsMV0.c2lnbmF0dXJl"
"""Any token: the store is looked for before the token is read."""

READ_OR_CLOSE: dict[str, list[str]] = {
    "workflow show": ["workflow", "show", "order-1"],
    "workflow list": ["workflow", "list"],
    "workflow history": ["workflow", "history", "order-1"],
    "workflow result": ["workflow", "result", "order-1", "--timeout", "1"],
    "workflow cancel": ["workflow", "cancel", "order-1"],
    "activity complete": ["activity", "complete", TOKEN, "--result", '{"by": "ana"}'],
    "activity fail": ["activity", "fail", TOKEN, "--error", "Declined"],
    "activity heartbeat": ["activity", "heartbeat", TOKEN],
    "activity cancelled": ["activity", "cancelled", TOKEN],
    "keys list": ["keys", "list"],
    "keys revoke": ["keys", "revoke", "billing"],
}


def tether(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    return subprocess.run(
        [TETHER, *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=60,
        env={**env, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},
    )  # fmt: skip


def at(command: list[str], url: str) -> list[str]:
    return [*command, "--db" if command[0] == "keys" else "--url", url]


@pytest.mark.parametrize("command", list(READ_OR_CLOSE))
def test_a_command_that_reads_or_closes_refuses_a_missing_store_and_creates_nothing(
    tmp_path: Path, command: str
) -> None:
    absolute = tmp_path / "absent" / "folder" / "tether.db"

    by_absolute = tether(*at(READ_OR_CLOSE[command], f"sqlite:///{absolute}"), cwd=tmp_path)
    by_relative = tether(*at(READ_OR_CLOSE[command], "sqlite:///relative/tether.db"), cwd=tmp_path)

    for reply, path in ((by_absolute, absolute), (by_relative, tmp_path / "relative" / "tether.db")):
        assert reply.returncode == 10, reply.stderr
        assert "store_not_found" in reply.stderr
        assert f"no store at {path}" in reply.stderr.replace("\n", "")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_store_is_reported_as_json_for_scripts(tmp_path: Path) -> None:
    missing = tmp_path / "tether.db"

    reply = tether("workflow", "show", "order-1", "--url", f"sqlite:///{missing}", "--json", cwd=tmp_path)

    assert reply.returncode == 10
    assert json.loads(reply.stderr) == {
        "error": "store_not_found",
        "message": f"no store at {missing}: the file does not exist "
        "(sqlite:///relative/path.db or sqlite:////absolute/path.db)",
        "details": {"path": str(missing)},
    }
    assert not missing.exists()


def test_a_command_that_reads_an_existing_store_answers_from_it(tmp_path: Path) -> None:
    created = tether("keys", "create", "--name", "billing", "--scope", "*:*:*", "--db", "sqlite:///t.db", cwd=tmp_path)

    listed = tether("keys", "list", "--json", "--db", "sqlite:///t.db", cwd=tmp_path)
    missing = tether("workflow", "show", "order-1", "--url", "sqlite:///t.db", cwd=tmp_path)

    assert created.returncode == 0, created.stderr
    assert [key["name"] for key in json.loads(listed.stdout)] == ["billing"]
    assert (missing.returncode, "execution_not_found" in missing.stderr) == (8, True)


def test_creating_a_key_creates_the_store_and_its_folders(tmp_path: Path) -> None:
    reply = tether(
        "keys", "create", "--name", "billing", "--scope", "*:*:*", "--db", "sqlite:///new/k.db", cwd=tmp_path
    )

    assert reply.returncode == 0, reply.stderr
    assert (tmp_path / "new" / "k.db").is_file()


def test_starting_a_workflow_creates_the_store_and_its_folders(tmp_path: Path) -> None:
    reply = tether("workflow", "start", "cli.order", "A-1", "--url", "sqlite:///new/w.db", cwd=tmp_path)

    # A new store knows no workflow until a worker has run on it, so this start is refused;
    # the store is there all the same, for the worker to be pointed at.
    assert (reply.returncode, "unknown_workflow" in reply.stderr) == (8, True)
    assert (tmp_path / "new" / "w.db").is_file()


@pytest.mark.parametrize(
    ("command", "ready"),
    [
        (["server", "--port", "0", "--db"], "tether server on "),
        (["worker", "tests.cli.cli_app", "--db"], "worker "),
    ],
    ids=["server", "worker"],
)
def test_a_server_or_worker_creates_its_store_and_its_folders(tmp_path: Path, command: list[str], ready: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    with subprocess.Popen(
        [TETHER, *command, "sqlite:///new/folder/tether.db"], stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
    ) as process:  # fmt: skip
        assert process.stderr is not None
        seen = []
        for line in process.stderr:  # it says when it is up, having opened its store
            seen.append(line)
            if ready in line:
                break
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=DEADLINE_SECONDS)

    assert any(ready in line for line in seen), seen
    assert (tmp_path / "new" / "folder" / "tether.db").is_file()
