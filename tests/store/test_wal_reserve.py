"""The SQLite store lengthens its WAL up front; the extra zeros never change what the log holds."""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import BinaryIO

import pytest

from tether.store.base import Transaction
from tether.store.rows import ExecutionRow
from tether.store.sqlite import wal as sqlite_wal
from tether.store.sqlite.store import SQLiteStore

PAGE = 4096
CHECKPOINT_PAGES = 1000  # SQLite's default wal_autocheckpoint


def execution(execution_id: str) -> ExecutionRow:
    return ExecutionRow(execution_id, "wal.workflow", "running", "[]", None, None, 1, None, False, None, 0)


def inserting(row: ExecutionRow) -> Callable[[Transaction], bool]:
    return lambda tx: tx.insert_execution(row)


def wal_size(db: Path) -> int:
    return Path(f"{db}-wal").stat().st_size


def wal_head(db: Path) -> bytes:
    """The log's header and first frames."""
    return Path(f"{db}-wal").read_bytes()[: 64 * 1024]


async def test_a_durable_store_opens_with_room_for_the_log_between_checkpoints(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = await SQLiteStore.open(f"sqlite:///{db}")
    try:
        assert wal_size(db) >= CHECKPOINT_PAGES * (PAGE + 24)
        await store.run(lambda tx: tx.insert_execution(execution("e1")))
        assert await store.read(lambda tx: tx.get_execution("e1")) is not None
    finally:
        await store.close()


async def test_a_store_that_does_not_flush_each_commit_reserves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = await SQLiteStore.open(f"sqlite:///{db}?synchronous=NORMAL")
    try:
        assert wal_size(db) < PAGE * 100
    finally:
        await store.close()


async def test_a_copy_of_the_files_taken_while_open_recovers_every_commit(tmp_path: Path) -> None:
    """What a crash leaves: the database, its log with frames followed by zeros, and no checkpoint."""
    db = tmp_path / "t.db"
    store = await SQLiteStore.open(f"sqlite:///{db}")
    try:
        for i in range(50):
            await store.run(inserting(execution(f"e{i}")))
        crashed = tmp_path / "crashed"
        crashed.mkdir()
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{db}{suffix}", f"{crashed / 't.db'}{suffix}")
    finally:
        await store.close()

    with closing(sqlite3.connect(crashed / "t.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        ids = {row[0] for row in conn.execute("SELECT id FROM executions")}
    assert ids == {f"e{i}" for i in range(50)}


async def test_frames_already_in_the_log_survive_the_reservation(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("PRAGMA journal_mode=WAL")
        other.execute("CREATE TABLE outside (n INTEGER)")
        other.executemany("INSERT INTO outside VALUES (?)", [(n,) for n in range(100)])
        before = wal_size(db)
        store = await SQLiteStore.open(f"sqlite:///{db}")
        try:
            assert wal_size(db) > before
            await store.run(lambda tx: tx.insert_execution(execution("e1")))
            assert other.execute("SELECT count(*), sum(n) FROM outside").fetchone() == (100, 4950)
            assert other.execute("SELECT id FROM executions").fetchall() == [("e1",)]
        finally:
            await store.close()
        crashed = tmp_path / "crashed"
        crashed.mkdir()
        for suffix in ("", "-wal"):
            shutil.copyfile(f"{db}{suffix}", f"{crashed / 't.db'}{suffix}")
    finally:
        other.close()

    with closing(sqlite3.connect(crashed / "t.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*), sum(n) FROM outside").fetchone() == (100, 4950)
        assert conn.execute("SELECT id FROM executions").fetchall() == [("e1",)]


async def test_a_log_already_long_enough_is_left_as_it_is(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    first = await SQLiteStore.open(f"sqlite:///{db}")
    try:
        await first.run(lambda tx: tx.insert_execution(execution("e1")))
        size = wal_size(db)
        head = wal_head(db)
        second = await SQLiteStore.open(f"sqlite:///{db}")
        await second.close()
        assert wal_size(db) == size
        assert wal_head(db) == head
    finally:
        await first.close()


async def test_a_disk_too_full_for_the_reservation_leaves_the_log_as_it_was_and_the_store_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def disk_full(file: BinaryIO, at: int, count: int) -> None:
        file.seek(at)
        file.write(bytes(4096))  # part of the zeros went in before the disk filled up
        file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sqlite_wal, "_append_zeros", disk_full)
    db = tmp_path / "t.db"
    store = await SQLiteStore.open(f"sqlite:///{db}")
    try:
        size = wal_size(db)
        await store.run(inserting(execution("e1")))
        assert await store.read(lambda tx: tx.get_execution("e1")) is not None
    finally:
        await store.close()

    assert size < PAGE * 100, "the zeros written before the failure were taken back"
    assert "could not reserve room" in caplog.text
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT id FROM executions").fetchall() == [("e1",)]
