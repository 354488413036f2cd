"""``tether server --worker`` (and ``tether worker``) take the workers' history limits as flags."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.cli.conftest import DEADLINE_SECONDS, Served, start_server, stop_server


def wait_for_task_error(server: Served, execution_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        described: dict[str, Any] = json.loads(server.run("workflow", "show", execution_id, "--json").stdout)
        if described["task_error"] is not None:
            return described
        assert time.monotonic() < deadline, f"no task error for {execution_id} within the hang guard"
        time.sleep(0.05)


def test_history_limit_flag_refuses_the_tasks_of_a_run_past_it(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--history-warning", "0", "--history-limit", "4")
    try:
        server.run("workflow", "start", "cli.order", "L-1", "--id", "limited")
        completed = server.run("activity", "complete", server.token("limited"), "--result", '{"by": "ana"}')
        assert completed.returncode == 0, completed.stderr

        described = wait_for_task_error(server, "limited")
        shown = server.run("workflow", "show", "limited")
    finally:
        stop_server(server)

    assert described["status"] == "running"
    assert described["task_error"]["error"] == "HistoryTooLarge"
    assert described["task_error"]["details"]["limit"] == 4
    assert "past its limit of 4" in shown.stdout
