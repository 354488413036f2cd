"""``import tether`` loads the library only: no testing tools, no server, no command line, no optional driver."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tether
from tests.cli.conftest import ROOT
from tether import errors
from tether.cli import output

NOT_ON_IMPORT = (
    "fastapi", "starlette", "uvicorn", "jinja2", "multipart", "typer", "rich", "psycopg", "httpx",
    "tether.testing", "tether.service", "tether.cli",
)  # fmt: skip

CHECK = f"""
import sys
import tether
loaded = {{name for name in sys.modules}}
print(sorted(n for n in {NOT_ON_IMPORT!r} if any(m == n or m.startswith(n + ".") for m in loaded)))
"""


def test_import_tether_loads_no_testing_server_command_line_or_driver_code() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=ROOT, check=False, timeout=60
    )

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


def test_tether_testing_is_there_on_first_use() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", "import tether; print(tether.testing.TestEnvironment.__module__)"],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=60,
    )  # fmt: skip

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "tether.testing"
    assert "testing" in tether.__all__


def test_the_script_exits_with_the_command_lines_code_for_a_missing_extra() -> None:
    import tether.__main__ as script

    assert script.EXIT_MISSING_EXTRA == output.exit_code_of(errors.MissingExtra("server")) == 25


def test_an_unrelated_missing_module_is_not_taken_for_a_missing_extra() -> None:
    from tether.model import extras

    with pytest.raises(ModuleNotFoundError) as raised, extras.required(extras.POSTGRES, "psycopg"):
        import tether_no_such_module  # type: ignore[import-not-found]  # noqa: F401

    assert not isinstance(raised.value, errors.MissingExtra)
    assert raised.value.name == "tether_no_such_module"
