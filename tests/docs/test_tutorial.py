"""The console steps of the tutorial and of the HTTP guide run as the pages show them, against real processes.

The pages' Python code is included from examples/approval/, whose tests the suite runs as they are.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = str(Path(sys.executable).parent)
DEADLINE_SECONDS = 30.0
"""A hang guard for a cross-process wait, not a timing."""

pytestmark = pytest.mark.acceptance


def console_blocks(page: str) -> list[list[str]]:
    """A page's console blocks, as their lines."""
    text = (ROOT / "docs" / page).read_text()
    return [block.splitlines() for block in re.findall(r"^```console\n(.*?)^```", text, re.M | re.S)]


def block_with(page: str, command: str) -> list[tuple[str, list[str]]]:
    """The page's one console block that runs ``command``: each command (continued lines joined) and its output."""
    [block] = [lines for lines in console_blocks(page) if any(command in line for line in lines)]
    found: list[tuple[str, list[str]]] = []
    for line in block:
        if line.startswith("$ "):
            found.append((line.removeprefix("$ "), []))
        elif found[-1][0].endswith("\\"):
            found[-1] = (found[-1][0].removesuffix("\\").rstrip() + " " + line.strip(), [])
        else:
            found[-1][1].append(line)
    return found


def shell(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, cwd=cwd, check=False, timeout=120,
        env={**base, "PATH": f"{BIN}:{os.environ['PATH']}", "COLUMNS": "200", **env},
    )  # fmt: skip


def start(command: str, cwd: Path, says: str) -> subprocess.Popen[str]:
    """Start a long-running command of a page, and wait until its first line on stderr says ``says``."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=env, text=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    assert process.stderr is not None
    for _ in range(5):
        if says in process.stderr.readline():
            return process
    process.kill()
    raise AssertionError(f"{command!r} never said {says!r}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=30)


def wait_until_waiting(cwd: Path, url: str) -> str:
    """The activity token of the first activity that waits, once one does (as a person would wait for it)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        listed = shell("tether activity list --waiting --json", cwd, TETHER_URL=url)
        assert listed.returncode == 0, listed.stderr
        if waiting := json.loads(listed.stdout):
            return str(waiting[0]["activity_token"])
        assert time.monotonic() < deadline, "nothing ever waited for a token"
        time.sleep(0.1)


def shown_outputs(steps: list[tuple[str, list[str]]]) -> list[str]:
    """The output lines a page shows in full (not shortened with an ellipsis)."""
    return [line for _, output in steps for line in output if "…" not in line]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "examples" / "approval" / "expenses.py", tmp_path / "expenses.py")  # as step 2 saves it
    return tmp_path


def test_the_tutorials_command_line_steps_decide_the_claim(folder: Path) -> None:
    [(worker_command, _)] = block_with("tutorial.md", "tether worker")
    steps = block_with("tutorial.md", "tether activity complete")
    worker = start(worker_command, folder, says="workflow(s)")  # the worker says what it runs once registered
    try:
        until_start = next(i for i, (command, _) in enumerate(steps) if "workflow start" in command) + 1
        started = shell("\n".join(command for command, _ in steps[:until_start]), folder)
        assert started.returncode == 0, started.stderr
        wait_until_waiting(folder, "sqlite:///expenses.db")

        ran = shell("\n".join(command for command, _ in steps), folder)
    finally:
        stop(worker)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == shown_outputs(steps)[-1] == '"paid 120 EUR to ana"'
    assert "activity completed" in ran.stderr


def test_the_http_steps_of_the_tutorial_and_the_guide_answer_as_shown(folder: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    here = f"127.0.0.1:{port}"
    [(server_command, _)] = block_with("tutorial.md", "tether server")
    steps = block_with("tutorial.md", "v1/activities/complete")
    script = [command.replace("127.0.0.1:8080", here) for command, _ in steps]
    server = start(f"{server_command} --port {port}", folder, says=f"tether server on http://{here}")
    try:
        started = shell(script[0], folder)
        wait_until_waiting(folder, "sqlite:///expenses.db")
        ran = shell("\n".join(script), folder)  # the start again: the same execution, started before

        assert ran.returncode == 0, ran.stderr
        answers = started.stdout + ran.stdout  # curl ends no answer with a newline: they follow each other
        assert [line for line in shown_outputs(steps) if line not in answers] == []

        # The guide's consumer, with an API key, on an activity of its own that the guide's last call finds closed.
        key = shell("tether keys create --name consumer --scope '*:*:*' --db sqlite:///expenses.db", folder)
        assert key.returncode == 0, key.stderr
        api_key = key.stdout.split()[0]
        claim = shell(
            f"tether workflow start expense cy 30 --id claim-3 --url http://{here} --api-key {api_key}", folder
        )
        assert claim.returncode == 0, claim.stderr
        token = wait_until_waiting(folder, "sqlite:///expenses.db")
        guide = block_with("guides/http-api.md", "v1/activities/fail")
        consumed = shell(
            "\n".join(command for command, _ in guide), folder, TETHER_URL=f"http://{here}", TETHER_API_KEY=api_key,
            TOKEN=token,
        )  # fmt: skip
    finally:
        stop(server)

    assert consumed.returncode == 0, consumed.stderr
    assert consumed.stdout == "".join(shown_outputs(guide))
