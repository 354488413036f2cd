"""Connecting to a PostgreSQL database: its URL checked, its connections set up, its password kept out of messages."""

from __future__ import annotations

from urllib.parse import urlparse

import psycopg

from tether.errors import UsageError
from tether.store.postgres import schema as postgres_schema
from tether.store.postgres.held import Row
from tether.store.postgres.listener import CONNECT_TIMEOUT


def check_url(url: str) -> str:
    """Check a ``postgresql://`` URL and return it as psycopg takes it."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise UsageError(f"not a postgresql URL: {url!r}")
    if not parsed.path.strip("/"):
        raise UsageError(f"the postgresql URL {url!r} names no database; use postgresql://user@host:5432/dbname")
    return url


def _settings(read_only: bool) -> str:
    """The session's settings, in one statement: tether's schema first, no JIT, and read-only transactions if asked."""
    read_only_too = ", set_config('default_transaction_read_only', 'on', false)" if read_only else ""
    return f"SELECT set_config('search_path', %s, false), set_config('jit', 'off', false){read_only_too}"


def connect(conninfo: str, *, read_only: bool = False) -> psycopg.Connection[Row]:
    """An autocommit connection whose unqualified names are tether's tables, and which compiles no query.

    ``read_only``: every transaction of the session is read-only, those of statements run
    outside a transaction block too.

    The server's just-in-time compilation is turned off for the session: tether's statements
    are lookups by key that run in well under a millisecond, but the planner's estimate of some
    (a batch's reads, its JSON list of ids guessed at 100 rows) grows with the tables, and past
    ``jit_above_cost`` the server spends hundreds of milliseconds compiling each one. A database
    holding some 50,000 waiting executions made every transaction wait that long.

    Raises:
        psycopg.Error: the server cannot be reached or refused.
    """
    conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    try:
        conn.execute(_settings(read_only), (postgres_schema.SCHEMA,))
    except psycopg.Error:
        conn.close()
        raise
    return conn


async def connect_async(conninfo: str) -> psycopg.AsyncConnection[Row]:
    """An asynchronous autocommit connection set up as :func:`connect`'s, whose transactions are read-only.

    Raises:
        psycopg.Error: the server cannot be reached or refused.
    """
    conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    try:
        await conn.execute(_settings(read_only=True), (postgres_schema.SCHEMA,))
    except psycopg.Error:
        await conn.close()
        raise
    return conn


def without_password(url: str) -> str:
    """The URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()
