"""Optional features: which extra installs which packages, and the error that names it when one is missing.

``pip install tether`` brings only what the embedded library needs (SQLite, the client, the
worker, ``tether.testing``). PostgreSQL, the server and its command line come with extras, so
the modules that use them import their packages lazily, inside :func:`required`, which turns
the import error of a package the extra installs into :class:`tether.errors.MissingExtra`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tether import errors

POSTGRES = "postgres"
"""The extra of the PostgreSQL store: psycopg."""
SERVER = "server"
"""The extra of the HTTP server, its web UI and the ``tether`` command: FastAPI, uvicorn, orjson, Jinja2, Typer."""
ENCRYPTION = "encryption"
"""The extra of the ready AES-GCM payload codec: cryptography."""

SERVER_PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "jinja2",
    "multipart",
    "python_multipart",
    "typer",
    "rich",
    "prometheus_client",
    "orjson",
)
"""The top-level packages that only the server extra installs."""


@contextlib.contextmanager
def required(extra: str, *packages: str) -> Iterator[None]:
    """Run imports that need ``extra``: a missing one of ``packages`` raises MissingExtra naming the extra.

    Import errors of anything else (a bug, or a package installed but broken) pass unchanged,
    so that they are not mistaken for a missing install.

    Raises:
        tether.errors.MissingExtra: one of ``packages`` is not installed.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing not in packages:
            raise
        raise errors.MissingExtra(extra, module=missing) from exc
