"""ruff, mypy and import-linter run as part of the suite so that CI cannot skip them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.static


def _run(*command: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint_is_clean() -> None:
    _run(str(BIN / "ruff"), "check", ".")


def test_ruff_format_is_clean() -> None:
    _run(str(BIN / "ruff"), "format", "--check", ".")


def test_mypy_strict_is_clean() -> None:
    _run(str(BIN / "mypy"))


def test_layers_import_downwards_only() -> None:
    _run(str(BIN / "lint-imports"))
