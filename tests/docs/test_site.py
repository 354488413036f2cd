"""The documentation site builds with warnings as errors, with every page, the API references included."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = str(Path(sys.executable).parent / "mkdocs")

pytestmark = pytest.mark.acceptance


def text_of(page: Path) -> str:
    """A page's text as a reader sees it (highlighted code is split into many elements)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


def test_the_site_builds_strictly_with_every_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    # The theme's notice of its successor is printed, not logged as a warning; it only adds noise here.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    ran = subprocess.run(
        [MKDOCS, "build", "--strict", "--site-dir", str(site)], capture_output=True, text=True, cwd=ROOT, env=env,
        check=False, timeout=120,
    )  # fmt: skip

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "WARNING" not in ran.stderr
    page = {name: text_of(site / name / "index.html") for name in (
        "tutorial", "guides/testing", "guides/postgres", "guides/http-api", "guides/patching-and-resuming",
        "guides/operating", "reference/python", "reference/errors", "reference/testing", "reference/http",
        "benchmarks",
    )}  # fmt: skip
    assert "return tether.make_async()" in page["tutorial"]  # examples/approval, included
    assert "test_a_claim_nobody_decides_fails_after_seven_days" in page["guides/testing"]
    assert "FOR UPDATE SKIP LOCKED" in page["guides/postgres"]  # a README section, included
    assert "tether.testing.replay" in page["guides/patching-and-resuming"]
    assert "start_workflow" in page["reference/python"]  # from the docstrings
    assert "MissingExtra" in page["reference/errors"]
    assert "TestEnvironment" in page["reference/testing"]
    assert "/v1/activities/complete" in page["reference/http"]  # from docs/openapi.json
    assert "W4" in page["benchmarks"]
    assert "--8<--" not in "".join(page.values())  # every include was made
