"""The tutorial's command-line steps run as docs/tutorial.md shows them, against a real worker process.

Its Python code is included from examples/approval/, whose tests the suite runs as they are.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
BIN = str(Path(sys.executable).parent)
DEADLINE_SECONDS = 30.0
"""A hang guard for a cross-process wait, not a timing."""

pytestmark = pytest.mark.acceptance


def console_blocks() -> list[list[str]]:
    """The tutorial's console blocks, as their lines."""
    return [block.splitlines() for block in re.findall(r"^```console\n(.*?)^```", TUTORIAL.read_text(), re.M | re.S)]


def commands(block: list[str]) -> list[str]:
    return [line.removeprefix("$ ") for line in block if line.startswith("$ ")]


def shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "COLUMNS": "200"}
    env = {name: value for name, value in env.items() if not name.startswith("TETHER_")}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, cwd=cwd, env=env, check=False,
        timeout=120,
    )  # fmt: skip


def test_the_command_line_steps_decide_the_claim_as_shown(tmp_path: Path) -> None:
    [worker_block] = [block for block in console_blocks() if any("tether worker" in line for line in block)]
    [steps] = [block for block in console_blocks() if any("tether activity complete" in line for line in block)]
    shutil.copy(ROOT / "examples" / "approval" / "expenses.py", tmp_path / "expenses.py")
    [worker_command] = commands(worker_block)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    worker = subprocess.Popen(["bash", "-c", f"exec {worker_command}"], cwd=tmp_path, env=env, text=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        assert worker.stderr is not None
        assert "workflow(s)" in worker.stderr.readline()  # the worker says what it runs once it is registered
        lines = commands(steps)
        started = shell("\n".join(lines[: next(i for i, c in enumerate(lines) if "workflow start" in c) + 1]), tmp_path)
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + DEADLINE_SECONDS  # a person would wait for the worker to get there too
        while not json.loads(shell(lines[0] + "\ntether activity list --waiting --json", tmp_path).stdout):
            assert time.monotonic() < deadline, "the claim never waited for the manager"
            time.sleep(0.1)

        ran = shell("\n".join(lines), tmp_path)
    finally:
        worker.terminate()
        worker.communicate(timeout=30)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == steps[-1] == '"paid 120 EUR to ana"'
    assert "activity completed" in ran.stderr
