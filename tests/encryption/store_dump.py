"""Everything a store holds, as raw text: what someone reading the database (or its files) would see."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg

from tether.store.postgres import schema as postgres_schema
from tether.testing import TestEnvironment


async def raw_store_text(env: TestEnvironment) -> str:
    """The bytes of a SQLite store's files, or every row of every table of a PostgreSQL one, as text."""
    if env.url.startswith("sqlite:"):
        files = [env.path, Path(f"{env.path}-wal"), Path(f"{env.path}-shm")]
        return "".join(f.read_bytes().decode("latin-1") for f in files if f.exists())
    return await asyncio.to_thread(_postgres_rows, env.url)


def _postgres_rows(url: str) -> str:
    schema = postgres_schema.SCHEMA
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
        tables = [row[0] for row in found.fetchall()]
        assert "events" in tables, tables
        rows = [
            str(row[0])
            for table in tables
            for row in conn.execute(f'SELECT t::text FROM {schema}."{table}" t').fetchall()
        ]
    return "\n".join(rows)
