"""Each ``tether`` command is a new process: those that serve nothing import neither the web framework nor metrics."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import ROOT

SERVER_ONLY = ("fastapi", "starlette", "uvicorn", "jinja2", "prometheus_client")

CHECK = f"""
import sys
import typer.main
import tether.cli
typer.main.get_command(tether.cli.app)  # every command's options, as --help shows them
print(sorted({{name.split(".")[0] for name in sys.modules}} & set({SERVER_ONLY!r})))
"""


def test_the_command_line_imports_no_web_framework_until_a_server_starts() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=ROOT, check=False, timeout=60
    )

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"
