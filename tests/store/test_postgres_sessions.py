"""The PostgreSQL store's sessions: settings the store's own statements need, whatever the database's defaults."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import psycopg
import pytest

from tether.store.base import Transaction
from tether.store.postgres.store import PostgresStore
from tether.store.postgres.transaction import PostgresTransaction

from .test_store_contract import execution, insert

pytestmark = pytest.mark.postgres


def compile_every_query(url: str) -> None:
    """Make the database compile every query of its new sessions just in time (as a large table's estimates do)."""
    name = urlparse(url).path.strip("/")
    with psycopg.connect(url, autocommit=True) as admin:
        for setting in ("jit_above_cost", "jit_inline_above_cost", "jit_optimize_above_cost"):
            admin.execute(f'ALTER DATABASE "{name}" SET {setting} = 0')
        admin.execute(f'ALTER DATABASE "{name}" SET jit = on')


def compiles(url: str) -> bool:
    """Whether a new session of another client of the database compiles a query just in time."""
    with psycopg.connect(url, autocommit=True) as other:
        row = other.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT 1").fetchone()
    assert row is not None
    return "JIT" in json.dumps(row[0])


def can_compile(url: str) -> bool:
    """Whether the server was built able to compile queries (with LLVM)."""
    with psycopg.connect(url, autocommit=True) as other:
        row = other.execute("SELECT pg_jit_available()").fetchone()
    return row is not None and bool(row[0])


async def test_the_store_compiles_none_of_its_queries_just_in_time(postgres_url: str) -> None:
    compile_every_query(postgres_url)
    # Where the server can compile, another client's session now does, even for the smallest query.
    assert compiles(postgres_url) is can_compile(postgres_url)
    store = await PostgresStore.open(postgres_url)
    try:
        await insert(store, execution("e1"))

        def plan_and_setting(tx: Transaction) -> tuple[str, str]:
            assert isinstance(tx, PostgresTransaction)
            plan = tx._one("EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM executions WHERE id = %s", ("e1",))
            setting = tx._one("SELECT current_setting('jit')")
            assert plan is not None
            assert setting is not None
            return json.dumps(plan[0]), str(setting[0])

        plan, setting = await store.read(plan_and_setting)
    finally:
        await store.close()

    assert setting == "off"
    assert "JIT" not in plan
