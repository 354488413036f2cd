"""The TypeScript client built from its lockfile, a real Redis, and a ``tether server`` running queue_app."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.cli.conftest import ROOT, TETHER, Served, start_server, stop_server

PACKAGE = ROOT / "clients" / "typescript"
REDIS_URL = os.environ.get("TETHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SCOPE = "*:*:ts.*"
"""The key's scope: everything on the workflows these tests serve."""


def npm(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run npm in the package with ``env`` added to the environment; its output comes back for failure messages."""
    return subprocess.run(
        ["npm", *args], cwd=PACKAGE, capture_output=True, text=True, check=False, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def node(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run node in the package with ``env`` added to the environment."""
    return subprocess.run(
        ["node", *args], cwd=PACKAGE, capture_output=True, text=True, check=False, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def _install() -> None:
    """``npm ci`` from the lockfile, again whenever the lockfile changed (a stamp holds its hash)."""
    stamp = PACKAGE / "node_modules" / ".tether-installed"
    want = hashlib.sha256((PACKAGE / "package-lock.json").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == want:
        return
    done = npm("ci", "--no-audit", "--no-fund")
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    stamp.write_text(want)


@pytest.fixture(scope="session")
def typescript() -> Path:
    """The package, installed from its lockfile and built (dist/ for the library, build/ for examples and tests).

    Skips the TypeScript client's tests when node is not installed.
    """
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the TypeScript client's tests need Node 20 or later")
    # The suite's processes each ask for the package: one installs and builds while the others wait.
    with (PACKAGE / ".tether-setup.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _install()
        built = node("node_modules/typescript/bin/tsc", "--build", "tsconfig.json", "tsconfig.dev.json", timeout=300)
    assert built.returncode == 0, f"tsc --build failed:\n{built.stdout}\n{built.stderr}"
    return PACKAGE


@contextmanager
def fresh_queue() -> Iterator[str]:
    """A fresh Redis list name on the local Redis server (removed afterwards)."""
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis server at {REDIS_URL} ({exc}); .ci/run starts one")
    name = f"tether-test-{uuid.uuid4().hex}"
    try:
        yield name
    finally:
        connection.delete(name)
        connection.close()


@pytest.fixture
def queue() -> Iterator[str]:
    """A fresh Redis list for one test."""
    with fresh_queue() as name:
        yield name


@dataclass
class QueueServer:
    """A server whose activities push jobs onto ``queue``, and the API key that may act on them."""

    served: Served
    queue: str
    api_key: str
    key_id: str
    sigv4_secret: str
    """The key's SigV4 secret, with which AWS SDKs sign (their access key id is ``key_id``)."""

    @property
    def url(self) -> str:
        return self.served.url

    def env(self) -> dict[str, str]:
        """What a consumer needs to find the server and the queue."""
        return {"TETHER_URL": self.url, "TETHER_API_KEY": self.api_key, "REDIS_URL": REDIS_URL, "QUEUE": self.queue}


@contextmanager
def serving(tmp_path: Path, queue: str) -> Iterator[QueueServer]:
    """A ``tether server`` over a fresh SQLite store with one API key (and its SigV4 secret), running queue_app."""
    db = f"sqlite:///{tmp_path / 'tether.db'}"
    created = subprocess.run(
        [TETHER, "keys", "create", "--db", db, "--name", "ts-consumer", "--scope", SCOPE, "--sigv4", "--json"],
        capture_output=True, text=True, cwd=ROOT, check=True, timeout=60,
    )  # fmt: skip
    key = json.loads(created.stdout)
    served = start_server(
        tmp_path,
        "--worker",
        "tests.clients.queue_app",
        env={"TETHER_TEST_REDIS": REDIS_URL, "TETHER_TEST_QUEUE": queue},
    )
    try:
        yield QueueServer(served, queue, key["key"], key["key_id"], key["sigv4_secret"])
    finally:
        if served.process.poll() is None:
            stop_server(served)


@pytest.fixture
def server(tmp_path: Path, queue: str) -> Iterator[QueueServer]:
    """A server for one test."""
    with serving(tmp_path, queue) as served:
        yield served
