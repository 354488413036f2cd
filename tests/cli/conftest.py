"""A real ``tether server`` process with a worker, and a way to run the ``tether`` command against it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[2]
TETHER = str(Path(sys.executable).parent / "tether")
DEADLINE_SECONDS = 20.0
"""A hang guard for cross-process waits, not a timing."""


@dataclass
class Served:
    url: str
    db: str
    tokens: Path
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)
    """What the server wrote to stderr after it started, read as it comes: the server logs a line per
    request, and a pipe nobody reads would fill and stop it."""
    reader: threading.Thread | None = None

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
        return {**base, "PYTHONPATH": str(ROOT), "TETHER_TEST_TOKENS": str(self.tokens), "COLUMNS": "200", **extra}

    def run(self, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``tether ARGS`` against this server (``--url`` comes from TETHER_URL unless given)."""
        return subprocess.run(
            [TETHER, *args], capture_output=True, text=True, input=stdin, cwd=ROOT, check=False, timeout=60,
            env=self.env(TETHER_URL=self.url, **env),
        )  # fmt: skip

    def token(self, execution_id: str, attempt: int | str = 1, kind: str = "token") -> str:
        """The token (or another ``kind`` of thing: its callback URL) the activity of ``execution_id`` handed out.

        ``attempt="activity"``: its activity token.
        """
        path = self.tokens / f"{execution_id}.{attempt}.{kind}"
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not path.exists():
            assert time.monotonic() < deadline, f"no token for {execution_id} within the hang guard"
            time.sleep(0.01)
        return path.read_text()


def start_server(tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> Served:
    """A ``tether server`` with the CLI tests' worker (and ``extra`` arguments), ``env`` added to its environment."""
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    db = f"sqlite:///{tmp_path / 'tether.db'}"
    served = Served("", db, tokens, None)  # type: ignore[arg-type]  # the process comes next
    process = subprocess.Popen(
        [TETHER, "server", "--db", db, "--port", "0", "--worker", "tests.cli.cli_app", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=served.env(**(env or {})),
    )  # fmt: skip
    assert process.stderr is not None
    seen = []
    for line in process.stderr:  # the server says where it listens once it does
        seen.append(line)
        if "tether server on " in line:
            served.url = line.split("tether server on ", 1)[1].split()[0]
            break
    else:
        raise AssertionError(f"the server did not start: {''.join(seen)}")
    served.process = process
    served.log.extend(seen)
    served.reader = threading.Thread(target=_read_to_the_end, args=(process.stderr, served.log), daemon=True)
    served.reader.start()
    return served


def _read_to_the_end(stream: IO[str], into: list[str]) -> None:
    with stream:
        into.extend(stream)


def stop_server(served: Served) -> str:
    served.process.send_signal(signal.SIGTERM)
    served.process.wait(timeout=DEADLINE_SECONDS)
    if served.reader is not None:
        served.reader.join(timeout=DEADLINE_SECONDS)
    return "".join(served.log)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    served = start_server(tmp_path)
    try:
        yield served
    finally:
        if served.process.poll() is None:
            stop_server(served)
