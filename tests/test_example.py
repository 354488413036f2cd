"""The README's Quick start and the order example (what bin/demo runs) work end to end, reviewer process included."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICK_START_RUNS = 10
"""Runs of the Quick start's main() in one process: leaving its worker once hung in about a third of them."""

pytestmark = pytest.mark.acceptance


def quick_start_code() -> str:
    """The Quick start's code block, exactly as the README shows it."""
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"^## Quick start\n\n```python\n(.*?)^```", readme, re.M | re.S)
    assert found, "the README has a Quick start with a python block"
    return found.group(1)


def test_quick_start_main_prints_running_and_exits_every_time(tmp_path: Path) -> None:
    (tmp_path / "quick_start.py").write_text(quick_start_code())
    # Each run in a fresh directory (main() opens sqlite:///tether.db where it runs), all on one event loop.
    driver = f"""
import asyncio, os, tempfile
import quick_start

async def runs() -> None:
    for _ in range({QUICK_START_RUNS}):
        with tempfile.TemporaryDirectory(dir=".") as here:
            os.chdir(here)
            try:
                await quick_start.main()
            finally:
                os.chdir("..")

asyncio.run(runs())
print("all runs exited")
"""
    try:
        ran = subprocess.run(
            [sys.executable, "-c", driver], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"the Quick start did not exit (a hang guard, not a timing): {expired.stdout!r}")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines() == ["running"] * QUICK_START_RUNS + ["all runs exited"], ran.stdout + ran.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    cwd = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    return subprocess.run(
        [sys.executable, "-m", "examples.orders"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _history(output: str) -> list[str]:
    _, _, rest = output.partition("history of A-1001")
    return [line.strip() for line in rest.splitlines()[1:] if line.startswith("  ")]


def test_order_demo_exits_cleanly_with_every_order_completed(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    for order_id in ("A-1001", "A-1002", "A-1003"):
        assert re.search(rf"^  {order_id}  completed: reserved R-\w+, approved by ana", demo.stdout, re.M), demo.stdout
    assert "all orders completed" in demo.stdout
    assert "reviewer stopped (exit code 0)" in demo.stdout


def test_order_demo_retries_the_failed_review_from_its_checkpoint(demo: subprocess.CompletedProcess[str]) -> None:
    history = _history(demo.stdout)
    approval = [line for line in history if "request_approval" in line]
    kinds = [line.split()[0] for line in approval]
    assert kinds.index("ActivityAttemptFailed") < kinds.index("ActivityCompleted"), demo.stdout
    failed = next(line for line in approval if line.startswith("ActivityAttemptFailed"))
    assert "attempt 1" in failed
    assert "ReviewerUnavailable" in failed
    completed = next(line for line in approval if line.startswith("ActivityCompleted"))
    assert "attempt 2" in completed
    assert "A-1001 attempt 2: resuming after step 2 (checkpoint from the last heartbeat)" in demo.stdout


def test_order_demo_heartbeats_from_the_reviewer_reach_the_engine(demo: subprocess.CompletedProcess[str]) -> None:
    history = _history(demo.stdout)
    beats = [line for line in history if line.startswith("ActivityHeartbeat")]
    assert any("attempt 1" in line and '"step": 2' in line for line in beats), demo.stdout
    assert any("attempt 2" in line and '"step": 3' in line for line in beats), demo.stdout
    assert re.search(r"tether +A-100\d  request_approval .* heartbeat: reviewing step \d of 3", demo.stdout), (
        demo.stdout
    )
