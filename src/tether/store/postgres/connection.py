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


def connect(conninfo: str) -> psycopg.Connection[Row]:
    """An autocommit connection whose unqualified names are tether's tables.

    Raises:
        psycopg.Error: the server cannot be reached or refused.
    """
    conn = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    conn.execute(f"SET search_path TO {postgres_schema.SCHEMA}")
    return conn


def without_password(url: str) -> str:
    """The URL without its password, for messages."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return parsed._replace(netloc=parsed.netloc.replace(f":{parsed.password}@", ":***@")).geturl()
