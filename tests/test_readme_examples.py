"""Every python example of the README's sections on long-lived workflows and on operating it runs as it is shown."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = (
    "## Workflows that live for months",
    "## Talk to a running workflow",
    "## Notifications out",
    "## Schedules",
    "## Encrypted payloads",
    "## Operating it: metrics, logs and traces",
)

pytestmark = pytest.mark.acceptance


def examples() -> list[str]:
    """The sections' python blocks, exactly as the README shows them."""
    readme = (ROOT / "README.md").read_text()
    found: list[str] = []
    for section in SECTIONS:
        start = readme.index(section)
        end = readme.index("\n## ", start + len(section))
        found.extend(re.findall(r"^```python\n(.*?)^```", readme[start:end], re.M | re.S))
    return found


def test_the_section_has_examples() -> None:
    assert len(examples()) >= 2


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_runs(index: int, tmp_path: Path) -> None:
    (tmp_path / f"test_example_{index}.py").write_text(examples()[index])
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--rootdir", str(tmp_path), "-c", "/dev/null", "-o", "asyncio_mode=auto", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert " passed" in ran.stdout
    assert "failed" not in ran.stdout
