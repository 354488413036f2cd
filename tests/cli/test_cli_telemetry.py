"""`tether server` and `tether worker` processes: /metrics scraped over HTTP, JSON log lines with ids and keys."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import DEADLINE_SECONDS, ROOT, TETHER, Served, start_server, stop_server
from tests.telemetry.scraping import parse, value


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """The log records among a process's stderr lines (the rest is what it prints for people)."""
    records = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def new_key(served: Served, name: str, scope: str) -> str:
    created = served.run("keys", "create", "--name", name, "--scope", scope, "--db", served.db)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def test_the_server_serves_metrics_to_a_reading_key_and_logs_json_lines(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--log-format", "json", "--log-level", "debug")
    try:
        assert server.run("workflow", "start", "cli.order", "A-1", "--id", "order-1").returncode == 0
        server.token("order-1")  # its activity waits for its token
        with httpx.Client(base_url=server.url) as http:
            opened = http.get("/metrics")  # no key exists yet: served like the whole API on loopback
            reader = new_key(server, "ops-scraper", "workflows:read")
            narrow = new_key(server, "billing", "workflows:read:billing.*")
            keyless = http.get("/metrics")
            narrowed = http.get("/metrics", headers={"Authorization": f"Bearer {narrow}"})
            scraped = http.get("/metrics", headers={"Authorization": f"Bearer {reader}"})
            listed = http.get("/v1/workflows", headers={"Authorization": f"Bearer {reader}"})
            forged = http.post(
                "/v1/activities/complete",
                json={"token": "not-a-token", "result": {"by": "x"}},
                headers={"Authorization": f"Bearer {new_key(server, 'closer', 'activities:write')}"},
            )
    finally:
        errors = stop_server(server)

    assert opened.status_code == 200
    assert (keyless.status_code, narrowed.status_code, scraped.status_code) == (401, 403, 200)
    assert narrowed.json()["error"] == "permission_denied"
    samples = parse(scraped.text)
    assert value(samples, "tether_executions_started_total", workflow="cli.order") == 1
    assert value(samples, "tether_activity_attempts_went_async_total", activity="cli.request_approval") == 1
    assert value(samples, "tether_activities_waiting_for_token", activity="cli.request_approval") == 1
    assert listed.status_code == 200
    assert forged.status_code == 400

    records = json_lines(errors)
    started = [r for r in records if r["logger"] == "tether.transitions" and "started" in r["message"]]
    assert {"execution_id": "order-1", "workflow": "cli.order"}.items() <= started[0].items()
    assert {"execution_id": "order-1", "activity": "cli.request_approval", "attempt": 1}.items() <= started[1].items()
    access = [r for r in records if r["logger"] == "tether.service.access" and r["route"] == "/v1/workflows"]
    assert [(r["level"], r["method"], r["status"], r.get("api_key")) for r in access] == [
        ("INFO", "POST", 201, None),  # started before any key existed
        ("INFO", "GET", 200, "ops-scraper"),
    ]
    assert isinstance(access[1]["duration_ms"], float)
    refusals = [r for r in records if r["logger"] == "tether.service.refusals"]
    assert [(r["level"], r["error_code"]) for r in refusals] == [("WARNING", "invalid_token")]
    assert "'closer'" in refusals[0]["api_key"]
    closes = [r for r in records if r["logger"] == "tether.transitions" and r.get("call") == "complete"]
    assert [(r["outcome"], r["error_code"], r["api_key"]) for r in closes] == [("refused", "invalid_token", "closer")]


def test_a_worker_serves_its_metrics_on_the_port_it_is_given(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'tether.db'}"
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    served = Served(db, db, tokens, None)  # type: ignore[arg-type]  # no server: its commands run on the store
    worker = subprocess.Popen(
        [TETHER, "worker", "tests.cli.cli_app", "--db", db, "--metrics-port", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=served.env(),
    )  # fmt: skip
    try:
        assert worker.stderr is not None
        url = ""
        for line in worker.stderr:
            if "metrics on " in line:
                url = line.split("metrics on ", 1)[1].split()[0]
                break
        assert url.startswith("http://127.0.0.1:")
        assert served.run("workflow", "start", "cli.order", "A-1", "--id", "order-1").returncode == 0
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:  # another process: poll, with a hang guard
            samples = parse(httpx.get(url).text)
            if value(samples, "tether_activities_waiting_for_token", activity="cli.request_approval") == 1:
                break
            assert time.monotonic() < deadline, "the worker's metrics never showed the waiting activity"
            time.sleep(0.05)
        elsewhere = httpx.get(url.replace("/metrics", "/other"))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=DEADLINE_SECONDS)

    assert value(samples, "tether_activity_attempts_started_total", activity="cli.request_approval") == 1
    assert value(samples, "tether_activity_schedule_to_start_seconds_count", activity="cli.request_approval") == 1
    assert elsewhere.status_code == 404


@pytest.mark.parametrize("flag", ["--metrics-port", "--log-format"])
def test_the_flags_are_documented(flag: str) -> None:
    shown = subprocess.run(
        [TETHER, "worker", "--help"], capture_output=True, text=True, env={"COLUMNS": "200"}, check=False
    )
    assert flag in shown.stdout
