"""Callback URLs end to end: ``tether server --public-url``, and a POST from outside Python (curl) with no API key."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from tests.cli.conftest import ROOT, TETHER, start_server, stop_server
from tests.cli.test_cli import new_key

pytestmark = pytest.mark.acceptance

CURL = shutil.which("curl")


def free_port() -> int:
    """A loopback port nothing listens on now, for a server whose public URL must be known before it starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def curl(url: str, body: str) -> tuple[int, object]:
    """POST ``body`` with curl as a webhook sender would: no API key. The status and the JSON answer."""
    assert CURL is not None
    ran = subprocess.run(
        [CURL, "--silent", "--show-error", "--max-time", "20", "--write-out", "\\n%{http_code}",
         "--header", "Content-Type: application/json", "--data-binary", body, url],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    answer, _, status = ran.stdout.rpartition("\n")
    return int(status), json.loads(answer)


@pytest.mark.skipif(CURL is None, reason="curl is not installed on this machine: the POST from outside Python needs it")
def test_curl_completes_an_activity_by_its_callback_url_on_a_server_that_requires_keys(tmp_path: Path) -> None:
    port = free_port()
    public = f"http://127.0.0.1:{port}/"
    served = start_server(tmp_path, "--port", str(port), "--public-url", public)
    try:
        admin = new_key(served, "*:*:*")
        started = served.run("workflow", "start", "cli.pay", "P-1", "--id", "pay-1", TETHER_API_KEY=admin)
        assert started.returncode == 0, started.stderr
        url = served.token("pay-1", kind="url")
        assert url.startswith(f"http://127.0.0.1:{port}/v1/callbacks/complete/")
        assert served.run("workflow", "show", "pay-1").returncode == 7  # no key: refused

        wrong = curl(url, '{"by": 3}')
        taken = curl(url, '{"by": "the payment provider"}')
        again = curl(url, '{"by": "the payment provider"}')
        result = served.run("workflow", "result", "pay-1", "--timeout", "20", TETHER_API_KEY=admin)

        assert (wrong[0], wrong[1]["error"]) == (422, "invalid_payload")  # type: ignore[index]  # an error body
        assert taken == (200, {"recorded": True})
        assert again == (200, {"recorded": False})
        assert (result.returncode, json.loads(result.stdout)) == (0, "P-1 paid, approved by the payment provider")
    finally:
        stop_server(served)


def test_a_public_url_that_is_no_http_url_stops_the_worker_and_the_server_with_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 't.db'}"
    for command in (["worker", "tests.cli.cli_app"], ["server", "--port", "0"]):
        reply = subprocess.run(
            [TETHER, *command, "--db", db, "--public-url", "tether.example.com"],
            capture_output=True, text=True, check=False, timeout=60, cwd=ROOT,
        )  # fmt: skip
        assert reply.returncode == 2, reply.stderr
        assert "public URL" in reply.stderr
