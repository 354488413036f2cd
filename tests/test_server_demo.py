"""The README's main command: a server with a worker, driven from the command line, works end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.acceptance


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    cwd = tmp_path_factory.mktemp("server-demo")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TETHER_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [str(ROOT / "examples" / "orders" / "server-demo.sh")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_server_demo_completes_the_order_from_the_command_line(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    result = demo.stdout.split("tether workflow result order-A-2001", 1)[1]
    summary = json.loads(result[result.index("{") : result.index("}") + 1])
    assert summary["approved_by"] == "ana"
    assert summary["approval_note"] == "approved from the command line"
    assert summary["review_updates_seen"] == 1


def test_server_demo_shows_refusals_with_their_exit_codes(demo: subprocess.CompletedProcess[str]) -> None:
    assert "exit code 6 (permission denied)" in demo.stdout
    assert "exit code 5 (activity already closed)" in demo.stdout
    assert "permission_denied" in demo.stderr


def test_server_demo_never_prints_a_key_or_token_in_its_commands(demo: subprocess.CompletedProcess[str]) -> None:
    commands = [line for line in demo.stdout.splitlines() if line.startswith("$ ")]
    assert commands
    assert not any(re.search(r"tether_[0-9a-f]{12}_", line) for line in commands)
    assert any("$TOKEN" in line for line in commands)
