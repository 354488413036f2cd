"""``tether workflow published`` and ``GET /v1/published/{name}/{id}`` against a real server process."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.cli.conftest import ROOT, TETHER, Served

pytestmark = pytest.mark.acceptance


def test_published_prints_the_last_value_and_exits_22_when_there_is_none(server: Served) -> None:
    server.run("workflow", "start", "cli.progress", "P-1", "--id", "progress-1")
    server.token("progress-1")

    shown = server.run("workflow", "published", "progress-1", "stage", "--json")
    table = server.run("workflow", "published", "progress-1", "stage")
    missing = server.run("workflow", "published", "progress-1", "other", "--json")
    bad_name = server.run("workflow", "published", "progress-1", "a/b")

    assert shown.returncode == 0, shown.stderr
    assert {k: v for k, v in json.loads(shown.stdout).items() if k != "published_at"} == {
        "value": "waiting for approval",
        "version": 1,
    }
    assert table.returncode == 0
    assert "version" in table.stdout
    assert '"waiting for approval"' in table.stdout
    assert missing.returncode == 22
    assert json.loads(missing.stderr)["error"] == "not_published"
    assert bad_name.returncode == 9


def test_a_waiting_reader_gets_the_next_version_as_soon_as_it_is_published(server: Served) -> None:
    server.run("workflow", "start", "cli.progress", "P-2", "--id", "progress-2")
    token = server.token("progress-2")
    reader = subprocess.Popen(
        [TETHER, "workflow", "published", "progress-2", "stage", "--after", "1", "--wait", "50", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=server.env(TETHER_URL=server.url),
    )  # fmt: skip
    try:
        completed = server.run("activity", "complete", token, "--result", '{"by": "ana"}')
        assert completed.returncode == 0, completed.stderr
        out, err = reader.communicate(timeout=40)  # a hang guard: the wait asked for is longer
    finally:
        reader.kill()

    assert reader.returncode == 0, err
    assert json.loads(out)["value"] == "approved by ana"
    assert json.loads(out)["version"] == 2


def test_curl_reads_a_published_value_by_its_path(server: Served) -> None:
    server.run("workflow", "start", "cli.progress", "P-3", "--id", "orders/progress-3")

    # The id last and whole, '/' included; the request waits (a long poll) for a first value.
    got = subprocess.run(
        ["curl", "-s", f"{server.url}/v1/published/stage/orders/progress-3?wait=20"],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip

    assert got.returncode == 0, got.stderr
    assert {k: v for k, v in json.loads(got.stdout).items() if k != "published_at"} == {
        "value": "waiting for approval",
        "version": 1,
    }
