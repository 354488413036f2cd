"""Creating and dropping whole PostgreSQL databases, for test environments.

A test gets a database of its own on a shared server: a unique name, so that test runs
on the same machine at the same time never meet, and dropped afterwards.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlparse

import psycopg
from psycopg import sql

from tether.errors import StoreUnavailable
from tether.store import postgres

_PREFIX = "tether_test_"


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    return urlparse(url)._replace(path=f"/{database}").geturl()


def create_database(server_url: str) -> str:
    """Create a fresh, uniquely named database on the server of ``server_url``; returns its URL.

    ``server_url`` names any database the user may connect to (``.../postgres`` will do).

    Raises:
        StoreUnavailable: the server cannot be reached or refused.
    """
    name = f"{_PREFIX}{uuid.uuid4().hex}"
    _administer(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(url: str, *, server_url: str) -> None:
    """Drop the database ``url`` names, closing any connection still open to it.

    Raises:
        StoreUnavailable: the server cannot be reached or refused.
    """
    name = urlparse(url).path.strip("/")
    _administer(server_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _administer(server_url: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(postgres.check_url(server_url), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot administer databases on {server_url}: {exc}") from exc
