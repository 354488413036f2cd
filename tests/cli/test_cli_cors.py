"""``tether server --cors-origin``: a browser's preflight, sent by curl, is answered without a key."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, TETHER, start_server, stop_server

CURL = shutil.which("curl")
APP_ORIGIN = "https://app.example.com"


@pytest.mark.skipif(
    CURL is None, reason="curl is not installed on this machine: the preflight from outside Python needs it"
)
def test_the_server_answers_a_preflight_from_its_origin_and_logs_a_refused_call(tmp_path: Path) -> None:
    assert CURL is not None
    served = start_server(tmp_path, "--cors-origin", APP_ORIGIN)
    try:
        created = served.run("keys", "create", "--name", "browser-app", "--scope", "workflows:read", "--db", served.db)
        assert created.returncode == 0, created.stderr
        preflight = subprocess.run(
            [CURL, "-s", "-i", "-X", "OPTIONS", f"{served.url}/v1/workflows",
             "-H", f"Origin: {APP_ORIGIN}", "-H", "Access-Control-Request-Method: GET",
             "-H", "Access-Control-Request-Headers: authorization"],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        head = preflight.stdout.lower()
        assert head.startswith("http/1.1 200")
        assert f"access-control-allow-origin: {APP_ORIGIN}" in head
        refused = subprocess.run(
            [CURL, "-s", "-o", "/dev/null", "-w", "%{http_code}", f"{served.url}/v1/workflows",
             "-H", f"Origin: {APP_ORIGIN}"],
            capture_output=True, text=True, check=True, timeout=30,
        )  # fmt: skip
        assert refused.stdout == "401"
    finally:
        log = stop_server(served)
    assert "refused GET /v1/workflows: 401 unauthenticated (key none presented)" in log


def test_a_value_that_is_not_an_origin_stops_the_server_before_it_starts(tmp_path: Path) -> None:
    ran = subprocess.run(
        [TETHER, "server", "--db", f"sqlite:///{tmp_path / 'tether.db'}", "--port", "0",
         "--cors-origin", "https://app.example.com/path"],
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert ran.returncode == 2
    assert "is not an origin" in ran.stderr
    assert not (tmp_path / "tether.db").exists()
