"""Durability settings of the SQLite store: WAL, and synchronous=FULL unless the URL relaxes it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from tether.store.base import Transaction
from tether.store.rows import ExecutionRow
from tether.store.sqlite.store import SQLiteStore
from tether.store.sqlite.transaction import SQLiteTransaction

SYNCHRONOUS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}


def pragma(name: str) -> Callable[[Transaction], object]:
    """A query of one PRAGMA on the store's own connection."""

    def query(tx: Transaction) -> object:
        assert isinstance(tx, SQLiteTransaction)
        return tx._conn.execute(f"PRAGMA {name}").fetchone()[0]

    return query


def execution(execution_id: str) -> ExecutionRow:
    return ExecutionRow(execution_id, "durability.workflow", "running", "[]", None, None, 1, None, False, None, 0)


async def test_default_url_commits_with_synchronous_full(tmp_path: Path) -> None:
    store = await SQLiteStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        await store.run(lambda tx: tx.insert_execution(execution("e1")))
        level = await store.read(pragma("synchronous"))
    finally:
        await store.close()

    assert level == SYNCHRONOUS["FULL"]


async def test_default_url_uses_write_ahead_logging(tmp_path: Path) -> None:
    store = await SQLiteStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        await store.run(lambda tx: tx.insert_execution(execution("e1")))
        mode = await store.read(pragma("journal_mode"))
    finally:
        await store.close()

    assert mode == "wal"
    with closing(sqlite3.connect(tmp_path / "t.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",), "WAL is recorded in the file"


@pytest.mark.parametrize(
    ("option", "level"),
    [("NORMAL", 1), ("normal", 1), ("OFF", 0), ("FULL", 2), ("EXTRA", 3)],
)
async def test_synchronous_option_sets_the_level_of_the_store_connection(
    tmp_path: Path, option: str, level: int
) -> None:
    store = await SQLiteStore.open(f"sqlite:///{tmp_path}/t.db?synchronous={option}")
    try:
        await store.run(lambda tx: tx.insert_execution(execution("e1")))
        assert await store.read(pragma("synchronous")) == level
        assert await store.read(pragma("journal_mode")) == "wal"
    finally:
        await store.close()


async def test_acknowledged_transition_is_in_the_file_before_the_store_closes(tmp_path: Path) -> None:
    store = await SQLiteStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        await store.run(lambda tx: tx.insert_execution(execution("e1")))

        with closing(sqlite3.connect(tmp_path / "t.db")) as conn:
            assert conn.execute("SELECT id FROM executions").fetchall() == [("e1",)]
    finally:
        await store.close()
