"""SQLite statements that write None as NULL in their text store exactly what binding None would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tether.store.sqlite import nulls as sqlite_nulls


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, a TEXT DEFAULT 'default', b INTEGER DEFAULT 7, c TEXT)")
    yield conn
    conn.close()


def _rows(conn: sqlite3.Connection) -> list[tuple[object, ...]]:
    return conn.execute("SELECT k, a, b, c FROM t ORDER BY k").fetchall()


def test_insert_writes_null_not_the_column_default(conn: sqlite3.Connection) -> None:
    sqlite_nulls.insert(conn, "INSERT INTO t (k, a, b, c)", (1, None, None, "x"))
    sqlite_nulls.insert(conn, "INSERT INTO t (k, a, b, c)", (2, "y", 3, None))
    assert _rows(conn) == [(1, None, None, "x"), (2, "y", 3, None)]


def test_insert_many_keeps_every_row_whatever_its_empty_columns(conn: sqlite3.Connection) -> None:
    rows = [(1, None, 1, None), (2, "b", None, "c"), (3, None, 1, None), (4, "d", 4, "d")]
    sqlite_nulls.insert_many(conn, "INSERT INTO t (k, a, b, c)", rows)
    assert _rows(conn) == rows


def test_update_sets_null_and_values_alike(conn: sqlite3.Connection) -> None:
    sqlite_nulls.insert(conn, "INSERT INTO t (k, a, b, c)", (1, "a", 2, "c"))
    sql, params = sqlite_nulls.update_sql("t", ("a", "b", "c"), (None, 5, None), "k = ?")
    conn.execute(sql, [*params, 1])
    assert _rows(conn) == [(1, None, 5, None)]
