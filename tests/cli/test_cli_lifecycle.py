"""``tether workflow terminate|delete`` and ``tether activity retry-now`` against a real server, and ``--retention``."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli.conftest import DEADLINE_SECONDS, ROOT, TETHER, Served, start_server, stop_server

pytestmark = pytest.mark.acceptance


def status_of(server: Served, execution_id: str) -> str:
    shown = server.run("workflow", "show", execution_id, "--json")
    assert shown.returncode == 0, shown.stderr
    return str(json.loads(shown.stdout)["status"])


def test_terminate_then_delete_from_the_command_line(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "T-1", "--id", "term-1")
    token = server.token("term-1")

    still_running = server.run("workflow", "delete", "term-1", "--json")
    terminated = server.run("workflow", "terminate", "term-1", "--reason", "customer left", "--json")
    again = server.run("workflow", "terminate", "term-1")
    result = server.run("workflow", "result", "term-1", "--json")
    token_refused = server.run("activity", "complete", token, "--result", '{"by": "ana"}')
    deleted = server.run("workflow", "delete", "term-1")
    gone = server.run("workflow", "show", "term-1", "--json")

    assert still_running.returncode == 16
    assert json.loads(still_running.stderr)["error"] == "execution_not_closed"
    assert terminated.returncode == 0, terminated.stderr
    assert json.loads(terminated.stdout) == {"id": "term-1", "status": "terminated", "reason": "customer left"}
    assert again.returncode == 16
    assert "closed already (terminated)" in again.stderr
    assert result.returncode == 17
    assert json.loads(result.stderr)["details"] == {"reason": "customer left"}
    assert token_refused.returncode == 5
    assert (deleted.returncode, deleted.stderr.strip()) == (0, "term-1 deleted")
    assert (gone.returncode, json.loads(gone.stderr)["error"]) == (8, "execution_not_found")


def test_retry_now_starts_the_next_attempt_and_refuses_an_activity_not_in_back_off(server: Served) -> None:
    server.run("workflow", "start", "cli.order", "R-1", "--id", "waiting-1")
    server.token("waiting-1")
    server.run("workflow", "start", "cli.flaky_job", "job", "--id", "flaky-1")
    deadline = time.monotonic() + DEADLINE_SECONDS
    while json.loads(server.run("workflow", "show", "flaky-1", "--json").stdout)["pending_activities"][0]["state"] != (
        "backoff"
    ):
        assert time.monotonic() < deadline, "the first attempt did not fail within the hang guard"
        time.sleep(0.05)

    refused = server.run("activity", "retry-now", "waiting-1", "1", "--json")
    retried = server.run("activity", "retry-now", "flaky-1", "1", "--json")
    result = server.run("workflow", "result", "flaky-1", "--timeout", "20")

    assert refused.returncode == 16
    assert json.loads(refused.stderr)["details"] == {"execution_id": "waiting-1", "activity_id": 1, "state": "async"}
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout) == {"id": "flaky-1", "activity_id": 1, "attempt": 2}
    assert json.loads(result.stdout) == "job on attempt 2"


def test_server_and_worker_take_a_retention_and_refuse_one_that_is_no_duration(tmp_path: Path) -> None:
    served = start_server(tmp_path, "--retention", "30d")
    try:
        served.run("workflow", "start", "cli.ratio", "6", "3", "--id", "kept-1")
        assert json.loads(served.run("workflow", "result", "kept-1", "--timeout", "20").stdout) == 2.0
        assert status_of(served, "kept-1") == "completed"  # closed a moment ago: kept for 30 days
    finally:
        stop_server(served)
    assert served.process.returncode == 0

    bad = subprocess.run(
        [TETHER, "worker", "tests.cli.cli_app", "--db", served.db, "--retention", "soon"],
        capture_output=True, text=True, check=False, timeout=60, cwd=ROOT, env=served.env(),
    )  # fmt: skip
    assert bad.returncode == 2
    assert "is not a positive duration" in bad.stderr
