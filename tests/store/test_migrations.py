"""Schema migrations of the SQLite store: applied once, on open, whoever opens first."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from tether.errors import StoreNotFound, StoreUnavailable, UsageError
from tether.model.events import EventType
from tether.store.rows import ActivityTaskRow, ExecutionRow
from tether.store.sqlite import schema as sqlite_schema
from tether.store.sqlite.store import SQLiteStore

ALL_VERSIONS = [version for version, _ in sqlite_schema.MIGRATIONS]
LATEST = max(ALL_VERSIONS)
TABLES = {
    "executions",
    "events",
    "activities",
    "timers",
    "workflow_tasks",
    "activity_tasks",
    "known_workflows",
    "signing_keys",
    "schema_version",
}

# Each child imports tether, says it is ready, waits for the word, then opens the store and
# commits one write, so that the three opens overlap as closely as processes allow.
CHILD = """
import asyncio, sys
from tether.store.sqlite.store import SQLiteStore

async def main(url: str, name: str) -> None:
    store = await SQLiteStore.open(url)
    await store.run(lambda tx: tx.register_workflows([name]))
    await store.close()

print("ready", flush=True)
sys.stdin.readline()
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def versions(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY version")]


def schema(path: Path) -> list[tuple[str, str, str | None]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


def entries(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def tables(path: Path) -> set[str]:
    return {name for kind, name, _ in schema(path) if kind == "table" and not name.startswith("sqlite_")}


def execution(execution_id: str, last_seq: int = 0) -> ExecutionRow:
    return ExecutionRow(
        execution_id, "migrations.workflow", "running", "[]", None, None, 1, None, False, None, last_seq
    )


async def insert(store: SQLiteStore, row: ExecutionRow) -> None:
    await store.run(lambda tx: tx.insert_execution(row))


def insert_as_before(path: Path, *execution_ids: str) -> None:
    """Insert executions as the code of an earlier schema did (today's also writes later columns)."""
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(
            "INSERT INTO executions (id, workflow, status, input, created_at_ms) "
            "VALUES (?, 'migrations.workflow', 'running', '[]', 1)",
            [(execution_id,) for execution_id in execution_ids],
        )


def contents(folder: Path) -> list[Path]:
    return list(folder.iterdir())


async def open_and_close(path: Path) -> None:
    store = await SQLiteStore.open(url_of(path))
    await store.close()


async def test_opening_a_new_file_creates_the_schema_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "t.db"

    await open_and_close(path)

    assert versions(path) == ALL_VERSIONS
    assert versions(path)[-1] == LATEST
    assert tables(path) >= TABLES


async def test_opening_a_file_in_a_missing_directory_creates_it(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "still" / "t.db"

    await open_and_close(path)

    assert versions(path) == ALL_VERSIONS


async def test_opening_a_missing_file_without_create_raises_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "t.db"

    with pytest.raises(StoreNotFound) as missing:
        await SQLiteStore.open(url_of(path), create=False)

    assert missing.value.path == str(path)
    assert contents(tmp_path) == []


async def test_opening_an_existing_file_without_create_serves_it(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = await SQLiteStore.open(url_of(path))
    await store.run(lambda tx: tx.insert_execution(execution("kept")))
    await store.close()

    store = await SQLiteStore.open(url_of(path), create=False)
    try:
        kept = await store.read(lambda tx: tx.get_execution("kept"))
    finally:
        await store.close()

    assert kept == execution("kept")


async def test_reopening_an_up_to_date_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = await SQLiteStore.open(url_of(path))
    await store.run(lambda tx: tx.insert_execution(execution("kept")))
    await store.close()
    before = schema(path)

    store = await SQLiteStore.open(url_of(path))
    try:
        kept = await store.read(lambda tx: tx.get_execution("kept"))
    finally:
        await store.close()

    assert kept == execution("kept")
    assert versions(path) == ALL_VERSIONS
    assert schema(path) == before


async def test_stores_opening_a_new_file_concurrently_all_succeed_and_migrate_once(tmp_path: Path) -> None:
    # The race is short; a few fresh files give it several chances.
    for round_ in range(10):
        path = tmp_path / f"t{round_}.db"

        stores = await asyncio.gather(*(SQLiteStore.open(url_of(path)) for _ in range(5)))
        try:
            for i, store in enumerate(stores):
                await insert(store, execution(f"e{i}"))
        finally:
            await asyncio.gather(*(store.close() for store in stores))

        assert versions(path) == ALL_VERSIONS
        with closing(sqlite3.connect(path)) as conn:
            assert conn.execute("SELECT count(*) FROM executions").fetchone() == (5,)


def test_processes_opening_a_new_file_concurrently_all_succeed_and_migrate_once(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    names = [f"migrations.child{i}" for i in range(3)]
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, url_of(path), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        outcomes = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()

    failures = [err for child, (_, err) in zip(children, outcomes, strict=True) if child.returncode != 0 or err]
    assert failures == [], "\n".join(failures)
    assert versions(path) == ALL_VERSIONS
    with closing(sqlite3.connect(path)) as conn:
        assert sorted(row[0] for row in conn.execute("SELECT name FROM known_workflows")) == names


async def test_migration_added_later_is_applied_on_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    store = await SQLiteStore.open(url_of(path))
    await store.run(lambda tx: tx.insert_execution(execution("kept")))
    await store.close()
    added = (
        LATEST + 1,
        "CREATE TABLE migrations_added (x INTEGER); CREATE INDEX migrations_added_x ON migrations_added (x)",
    )
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*sqlite_schema.MIGRATIONS, added])

    store = await SQLiteStore.open(url_of(path))
    try:
        kept = await store.read(lambda tx: tx.get_execution("kept"))
    finally:
        await store.close()

    assert versions(path) == [*ALL_VERSIONS, LATEST + 1]
    assert "migrations_added" in tables(path)
    assert kept == execution("kept")


async def test_a_migration_numbered_below_one_applied_already_is_applied_on_the_next_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps developed apart and merged later: a file opened by code that had a higher step
    # but not this one gets it when code that has both opens it.
    path = tmp_path / "t.db"
    *earlier, withheld = sqlite_schema.MIGRATIONS
    later = (LATEST + 1, "CREATE TABLE migrations_later (x INTEGER)")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*earlier, later])
    await open_and_close(path)
    assert withheld[0] not in versions(path)

    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*earlier, withheld, later])
    await open_and_close(path)

    assert versions(path) == [*ALL_VERSIONS, LATEST + 1]
    fresh = tmp_path / "fresh.db"
    await open_and_close(fresh)
    assert set(schema(path)) == set(schema(fresh))


async def test_failing_migration_is_rolled_back_and_refuses_to_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    await open_and_close(path)
    before = schema(path)
    broken = (LATEST + 1, "CREATE TABLE migrations_half (x INTEGER); THIS IS NOT SQL")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*sqlite_schema.MIGRATIONS, broken])

    with pytest.raises(StoreUnavailable):
        await open_and_close(path)

    assert versions(path) == ALL_VERSIONS
    assert schema(path) == before


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:",
        "sqlite://",
        "sqlite:///",
        "sqlite:///{tmp}/t.db?synchronous=SOMETIMES",
        "postgres://localhost/tether",
        "postgresql://localhost/tether",
        "{tmp}/t.db",
    ],
)
async def test_malformed_url_raises_usage_error_and_creates_nothing(tmp_path: Path, url: str) -> None:
    with pytest.raises(UsageError):
        await SQLiteStore.open(url.format(tmp=tmp_path))

    assert entries(tmp_path) == []


async def test_directory_in_place_of_the_file_raises_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.mkdir()

    with pytest.raises(StoreUnavailable):
        await SQLiteStore.open(url_of(path))

    assert entries(path) == []


async def test_file_that_is_not_a_database_raises_store_unavailable_and_stays_untouched(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    content = b"these are not the pages of a database\n" * 200
    path.write_bytes(content)

    with pytest.raises(StoreUnavailable):
        await SQLiteStore.open(url_of(path))

    assert path.read_bytes() == content


async def test_store_unavailable_on_open_chains_the_driver_error(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    path.mkdir()

    with pytest.raises(StoreUnavailable) as raised:
        await SQLiteStore.open(url_of(path))

    assert isinstance(raised.value.__cause__, sqlite3.Error)


async def test_queued_attempts_survive_the_upgrade_that_rebuilds_the_activity_task_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [m for m in sqlite_schema.MIGRATIONS if m[0] < 3])
    await open_and_close(path)
    monkeypatch.undo()
    insert_as_before(path, "e1")
    with closing(sqlite3.connect(path)) as conn, conn:  # as the code of that version queued it
        conn.execute(
            "INSERT INTO activity_tasks (execution_id, activity_id, attempt, name) VALUES ('e1', 1, 2, 'charge')"
        )

    store = await SQLiteStore.open(url_of(path))
    try:
        claimed = await store.run(lambda tx: tx.claim_activity_tasks(activities=["charge"], limit=10))
    finally:
        await store.close()

    assert versions(path) == ALL_VERSIONS
    assert claimed == [ActivityTaskRow("e1", 1, 2, "charge")]
    assert "workflow_tasks_by_lease" not in {name for _, name, _ in schema(path)}


async def test_executions_keep_their_rows_and_history_positions_through_the_upgrade_that_drops_last_seq(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [m for m in sqlite_schema.MIGRATIONS if m[0] < 4])
    await open_and_close(path)
    monkeypatch.undo()
    insert_as_before(path, "e1", "e2")
    with closing(sqlite3.connect(path)) as conn, conn:  # as the code of that version wrote them
        conn.executemany(
            "INSERT INTO events (execution_id, seq, type, at_ms, data) VALUES ('e1', ?, ?, 5, '{}')",
            [(seq, EventType.WORKFLOW_STARTED.value) for seq in (1, 2, 3)],
        )
        conn.execute("UPDATE executions SET last_seq = 3 WHERE id = 'e1'")
        conn.execute(
            "UPDATE executions SET status = 'completed', task_error = 'boom', closed_at_ms = 9 WHERE id = 'e2'"
        )

    store = await SQLiteStore.open(url_of(path))
    try:
        first = await store.read(lambda tx: tx.get_execution("e1"))
        second = await store.read(lambda tx: tx.get_execution("e2"))
        appended = await store.run(lambda tx: tx.append_events("e1", [(EventType.TIMER_STARTED, "{}")], 6))
        failed = await store.read(lambda tx: tx.executions_with_failed_task())
    finally:
        await store.close()

    assert versions(path) == ALL_VERSIONS
    assert first == execution("e1", last_seq=3)
    assert second == dataclasses.replace(execution("e2"), status="completed", task_error="boom", closed_at_ms=9)
    assert appended == 4
    assert failed == []
    with closing(sqlite3.connect(path)) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(executions)")]
    assert "last_seq" not in columns
    assert {"executions_by_status", "executions_by_created", "executions_with_task_error"} <= {
        name for _, name, _ in schema(path)
    }


async def test_queued_attempts_keep_their_priority_order_through_the_upgrade_that_narrows_the_priority_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.db"
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [m for m in sqlite_schema.MIGRATIONS if m[0] <= 17])
    await open_and_close(path)
    monkeypatch.undo()
    insert_as_before(path, "e1")
    priorities = [0, 5, -1, 0, 5, 2]
    with closing(sqlite3.connect(path)) as conn, conn:  # as the code of migration 17 queued them
        conn.executemany(
            "INSERT INTO activity_tasks (execution_id, activity_id, attempt, name, priority) "
            "VALUES ('e1', ?, 1, 'a', ?)",
            list(enumerate(priorities, start=1)),
        )

    store = await SQLiteStore.open(url_of(path))
    try:
        first = await store.run(lambda tx: tx.claim_activity_tasks(activities=["a"], limit=3))
        await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 7, 1, "a", 5)))
        rest = await store.run(lambda tx: tx.claim_activity_tasks(activities=["a"], limit=10))
    finally:
        await store.close()

    assert versions(path) == ALL_VERSIONS
    assert [(t.activity_id, t.priority) for t in [*first, *rest]] == [
        (2, 5), (5, 5), (6, 2), (7, 5), (1, 0), (4, 0), (3, -1)
    ]  # fmt: skip
    indexes = {name: sql for kind, name, sql in schema(path) if kind == "index"}
    assert "activity_tasks_by_priority" not in indexes
    assert str(indexes["activity_tasks_prioritized"]).endswith("WHERE priority <> 0")
    fresh = tmp_path / "fresh.db"
    await open_and_close(fresh)
    assert set(schema(path)) == set(schema(fresh))
