"""``pip install tether`` without extras: the embedded library works, and each missing extra is named.

The environment holds only the core requirements of pyproject.toml (see lean_venv.py), so these
tests fail as soon as the library imports a package that only an extra installs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.install import lean_venv

pytestmark = pytest.mark.acceptance

EMBEDDED = """
import asyncio
import tether

@tether.activity
async def greet(name: str) -> str:
    return f"hello {name}"

@tether.workflow
async def hello(name: str) -> str:
    return await greet(name)

async def main() -> None:
    async with (
        await tether.Client.connect("sqlite:///lean.db") as client,
        tether.Worker(client, workflows=[hello], activities=[greet]),
    ):
        handle = await client.start_workflow(hello, "ana")
        print(await handle.result(timeout=30))

asyncio.run(main())
"""

TESTING = """
import asyncio
from datetime import timedelta
import tether
from tether.testing import TestEnvironment

@tether.workflow
async def nap() -> str:
    await tether.sleep(timedelta(days=3))
    return "rested"

async def main() -> None:
    async with TestEnvironment(workflows=[nap]) as env:
        print(await (await env.client.start_workflow(nap)).result())

asyncio.run(main())
"""

POSTGRES = """
import asyncio
import tether

async def main() -> None:
    try:
        await tether.Client.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    except tether.errors.MissingExtra as missing:
        print(missing.extra, missing.module, "|", missing)

asyncio.run(main())
"""

HTTP_TEST_ENVIRONMENT = """
import asyncio
import tether
from tether.testing import TestEnvironment

async def main() -> None:
    try:
        async with TestEnvironment(transport="http"):
            pass
    except tether.errors.MissingExtra as missing:
        print(missing.extra, "|", missing)

asyncio.run(main())
"""


@pytest.fixture
def lean(tmp_path: Path) -> Path:
    return lean_venv.make(tmp_path / "venv")


def test_the_lean_install_has_no_extra_packages(lean: Path, tmp_path: Path) -> None:
    ran = lean_venv.run(lean, "import fastapi", tmp_path)
    assert "No module named 'fastapi'" in ran.stderr
    ran = lean_venv.run(lean, "import psycopg", tmp_path)
    assert "No module named 'psycopg'" in ran.stderr


def test_an_embedded_workflow_runs_on_the_core_dependencies(lean: Path, tmp_path: Path) -> None:
    ran = lean_venv.run(lean, EMBEDDED, tmp_path)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "hello ana"


def test_the_test_environment_runs_on_the_core_dependencies(lean: Path, tmp_path: Path) -> None:
    ran = lean_venv.run(lean, TESTING, tmp_path)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "rested"


def test_a_postgresql_url_without_the_driver_names_the_postgres_extra(lean: Path, tmp_path: Path) -> None:
    ran = lean_venv.run(lean, POSTGRES, tmp_path)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (
        "postgres psycopg | psycopg is not installed; it comes with tether[postgres]: pip install 'tether[postgres]'"
    )


def test_an_http_test_environment_without_the_server_names_the_server_extra(lean: Path, tmp_path: Path) -> None:
    ran = lean_venv.run(lean, HTTP_TEST_ENVIRONMENT, tmp_path)

    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("server | ")
    assert "pip install 'tether[server]'" in ran.stdout


def test_the_tether_command_without_the_server_extra_says_which_extra_to_install(lean: Path, tmp_path: Path) -> None:
    ran = lean_venv.tether(lean, ["--help"], tmp_path)

    assert ran.returncode == 25
    assert ran.stdout == ""
    assert ran.stderr.startswith("tether: the command line needs tether[server]: ")
    assert "pip install 'tether[server]'" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_command_that_needs_the_web_framework_names_the_server_extra(tmp_path: Path) -> None:
    # Typer and Rich, but not the rest of the server extra: `tether openapi` needs FastAPI.
    partial = lean_venv.make(tmp_path / "venv", "typer", "rich")
    ran = lean_venv.tether(partial, ["openapi"], tmp_path)

    assert ran.returncode == 25
    assert ran.stderr.startswith("error (missing_extra): ")
    assert "pip install 'tether[server]'" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_a_command_on_a_postgresql_url_without_the_driver_names_the_postgres_extra(tmp_path: Path) -> None:
    partial = lean_venv.make(tmp_path / "venv", "typer", "rich")
    ran = lean_venv.tether(
        partial, ["workflow", "list", "--url", "postgresql://postgres@127.0.0.1:5432/postgres"], tmp_path
    )

    assert ran.returncode == 25
    assert ran.stderr.strip() == (
        "error (missing_extra): psycopg is not installed; it comes with tether[postgres]: "
        "pip install 'tether[postgres]'"
    )
