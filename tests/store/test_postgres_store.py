"""What only the PostgreSQL store does: its URL, migrations under concurrent opens, lost connections, deadlocks."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tether.errors import StoreUnavailable, UsageError
from tether.store.base import Transaction
from tether.store.postgres import schema as postgres_schema
from tether.store.postgres import store as store_module
from tether.store.postgres.store import PostgresStore
from tether.store.rows import ExecutionRow

from .test_store_contract import held_busy

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0


def execution(execution_id: str) -> ExecutionRow:
    return ExecutionRow(execution_id, "wf", "running", "[]", None, None, 1, None, False, None, 0)


def cut_connections(url: str) -> None:
    """End every other connection to the database, as an administrator or a restart would; wait until they end."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid != pg_backend_pid()"
        )


def ids(tx: Transaction) -> list[str]:
    return [r.id for r in tx.list_executions(status=None, workflow=None, limit=10, offset=0)]


def versions(url: str) -> list[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM tether.schema_version ORDER BY version")]


async def test_opening_a_new_database_creates_the_schema_at_the_latest_version(empty_postgres_url: str) -> None:
    store = await PostgresStore.open(empty_postgres_url)
    await store.close()

    assert versions(empty_postgres_url) == [v for v, _ in postgres_schema.MIGRATIONS]


async def test_stores_opening_a_new_database_concurrently_all_succeed_and_migrate_once(
    empty_postgres_url: str,
) -> None:
    stores = await asyncio.gather(*(PostgresStore.open(empty_postgres_url) for _ in range(6)))
    for store in stores:
        await store.close()

    assert versions(empty_postgres_url) == [v for v, _ in postgres_schema.MIGRATIONS]


async def test_a_migration_numbered_below_one_applied_already_is_applied_on_the_next_open(
    empty_postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps developed apart and merged later: a database migrated by code that had a higher
    # step but not this one gets it when code that has both opens it.
    *earlier, withheld = postgres_schema.MIGRATIONS
    later = (withheld[0] + 1, "CREATE TABLE migrations_later (x INTEGER)")
    monkeypatch.setattr(postgres_schema, "MIGRATIONS", [*earlier, later])
    await (await PostgresStore.open(empty_postgres_url)).close()
    assert withheld[0] not in versions(empty_postgres_url)

    monkeypatch.setattr(postgres_schema, "MIGRATIONS", [*earlier, withheld, later])
    await (await PostgresStore.open(empty_postgres_url)).close()

    assert versions(empty_postgres_url) == [v for v, _ in postgres_schema.MIGRATIONS]
    with psycopg.connect(empty_postgres_url, autocommit=True) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'tether'")}
    assert {"published_values", "migrations_later"} <= tables


async def test_reopening_an_up_to_date_database_keeps_its_rows(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    await store.run(lambda tx: tx.insert_execution(execution("kept")))
    await store.close()

    reopened = await PostgresStore.open(postgres_url)
    try:
        assert await reopened.read(lambda tx: tx.get_execution("kept")) == execution("kept")
    finally:
        await reopened.close()
    assert versions(postgres_url) == [v for v, _ in postgres_schema.MIGRATIONS]


@pytest.mark.parametrize("url", ["postgresql://127.0.0.1:5432", "postgresql://127.0.0.1:5432/", "mysql://x/y"])
async def test_url_naming_no_database_raises_usage_error(url: str) -> None:
    with pytest.raises(UsageError):
        await PostgresStore.open(url)


async def test_unreachable_server_raises_store_unavailable_chaining_the_driver_error() -> None:
    # Port 1 on the loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(StoreUnavailable) as raised:
        await PostgresStore.open("postgresql://postgres@127.0.0.1:1/tether")

    assert isinstance(raised.value.__cause__, psycopg.Error)


def test_sqlite_users_never_import_psycopg(tmp_path: Path) -> None:
    script = (
        "import asyncio, sys, tether\n"
        "from tether.testing import TestEnvironment\n"
        "async def main():\n"
        f"    async with await tether.Client.connect('sqlite:///{tmp_path}/t.db') as client:\n"
        "        await client.list_workflows()\n"
        "    async with TestEnvironment():\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "assert 'psycopg' not in sys.modules, 'psycopg was imported'\n"
    )
    env = {"PATH": "", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr


def cutting_then_inserting(postgres_url: str) -> Callable[[Transaction], None]:
    """A write that cuts every connection to the database, then inserts (its statements meet a dead connection)."""

    def transition(tx: Transaction) -> None:
        cut_connections(postgres_url)
        tx.insert_execution(execution("lost"))

    return transition


async def test_a_write_that_loses_its_connection_fails_changing_nothing_and_the_next_one_reconnects(
    postgres_url: str,
) -> None:
    store = await PostgresStore.open(postgres_url)

    try:
        await store.run(lambda tx: tx.insert_execution(execution("before")))

        with pytest.raises(StoreUnavailable):
            await store.run(cutting_then_inserting(postgres_url))
        await store.run(lambda tx: tx.insert_execution(execution("after")))

        assert await store.read(ids) == ["after", "before"]
    finally:
        await store.close()


async def test_a_read_after_the_server_ended_the_idle_connection_gets_an_answer(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    try:
        await store.run(lambda tx: tx.insert_execution(execution("before")))
        cut_connections(postgres_url)

        row = await store.read(lambda tx: tx.get_execution("before"))

        assert row == execution("before")
    finally:
        await store.close()


async def test_a_write_after_the_server_ended_the_idle_connection_runs_on_a_new_one(postgres_url: str) -> None:
    # Nothing of the write was sent before the store saw the connection was gone.
    store = await PostgresStore.open(postgres_url)
    try:
        cut_connections(postgres_url)

        await store.run(lambda tx: tx.insert_execution(execution("after")))

        assert await store.read(ids) == ["after"]
    finally:
        await store.close()


async def test_a_read_that_loses_its_connection_runs_again_once_on_a_new_one(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    cuts: list[int] = []

    def read_cutting(times: int) -> Callable[[Transaction], ExecutionRow | None]:
        def read(tx: Transaction) -> ExecutionRow | None:
            if len(cuts) < times:
                cuts.append(1)
                cut_connections(postgres_url)
            return tx.get_execution("before")

        return read

    try:
        await store.run(lambda tx: tx.insert_execution(execution("before")))

        assert await store.read(read_cutting(1)) == execution("before")
        cuts.clear()
        with pytest.raises(StoreUnavailable):
            await store.read(read_cutting(2))
        assert len(cuts) == 2
    finally:
        await store.close()


def queue_a_task(execution_id: str) -> Callable[[Transaction], None]:
    """A transition that starts an execution and queues its workflow task: work for any process."""

    def transition(tx: Transaction) -> None:
        tx.insert_execution(execution(execution_id))
        tx.enqueue_workflow_task(execution_id, 0)

    return transition


async def next_report(calls: asyncio.Queue[set[str]]) -> set[str]:
    """The listener's next report of another store's commit, past the fallbacks of poll intervals without notices."""
    reported = await asyncio.wait_for(calls.get(), WAIT_S)
    while reported == {"*", "external"}:
        reported = await asyncio.wait_for(calls.get(), WAIT_S)
    return reported


async def test_another_stores_commit_wakes_only_the_loops_it_gave_work_to(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    other = await PostgresStore.open(postgres_url)
    calls: asyncio.Queue[set[str]] = asyncio.Queue()
    store.set_listener(calls.put_nowait)
    try:
        await other.run(queue_a_task("queued"))

        assert await next_report(calls) == {"external", "workflows"}
    finally:
        await other.close()
        await store.close()


async def test_listener_reports_other_stores_again_after_its_connection_was_cut(postgres_url: str) -> None:
    store = await PostgresStore.open(postgres_url)
    other = await PostgresStore.open(postgres_url)
    calls: asyncio.Queue[set[str]] = asyncio.Queue()
    store.set_listener(calls.put_nowait)
    try:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
            )
        # The reconnected listener reports a change at once: some may have been missed.
        assert await asyncio.wait_for(calls.get(), WAIT_S) == {"*", "external"}
        while not calls.empty():
            calls.get_nowait()

        await other.run(queue_a_task("from-elsewhere"))

        assert await next_report(calls) == {"external", "workflows"}
    finally:
        await other.close()
        await store.close()


async def test_a_read_does_not_wait_for_another_stores_uncommitted_transition(postgres_url: str) -> None:
    writer = await PostgresStore.open(postgres_url)
    reader = await PostgresStore.open(postgres_url)
    await writer.run(lambda tx: tx.insert_execution(execution("e1")))
    holding, release = threading.Event(), threading.Event()

    def update_and_wait(tx: Transaction) -> None:
        tx.update_execution("e1", status="completed")
        holding.set()
        assert release.wait(WAIT_S)

    try:
        pending = asyncio.ensure_future(writer.run(update_and_wait))
        assert await asyncio.to_thread(holding.wait, WAIT_S)
        row = await reader.read(lambda tx: tx.get_execution("e1"))
        release.set()
        await pending

        assert row is not None
        assert row.status == "running"
    finally:
        release.set()
        await reader.close()
        await writer.close()


async def test_a_transition_that_loses_a_deadlock_runs_again_and_both_commit(postgres_url: str) -> None:
    """Two stores lock two executions in opposite orders; the server breaks the cycle, the loser retries."""
    one = await PostgresStore.open(postgres_url)
    two = await PostgresStore.open(postgres_url)
    await one.run(lambda tx: [tx.insert_execution(execution(e)) for e in ("e1", "e2")])
    locked = {"e1": threading.Event(), "e2": threading.Event()}
    committed = {"e1": threading.Event(), "e2": threading.Event()}
    runs = {"e1": 0, "e2": 0}

    def lock_then_take(mine: str, theirs: str) -> Callable[[Transaction], None]:
        def transition(tx: Transaction) -> None:
            runs[mine] += 1
            if runs[mine] > 1:
                # The loser runs again once the winner committed: whoever takes a row lock
                # first once the loser rolled back is up to the server, and another cycle
                # would make the winner lose in its turn.
                assert committed[theirs].wait(WAIT_S)
            tx.update_execution(mine, task_error=f"locked by {mine}")
            locked[mine].set()
            assert locked[theirs].wait(WAIT_S)
            tx.update_execution(theirs, cancel_requested=True)
            tx.after_commit(committed[mine].set)

        return transition

    try:
        await asyncio.gather(one.run(lock_then_take("e1", "e2")), two.run(lock_then_take("e2", "e1")))

        rows = await one.read(lambda tx: [tx.get_execution(e) for e in ("e1", "e2")])
        assert [(r.task_error, r.cancel_requested) for r in rows if r is not None] == [
            ("locked by e1", True),
            ("locked by e2", True),
        ]
        assert sorted(runs.values()) == [1, 2]  # the loser ran again, once
    finally:
        await two.close()
        await one.close()


async def test_a_read_whose_statement_fails_within_a_batch_of_writes_fails_alone(postgres_url: str) -> None:
    """A read shares the batch's transaction without a savepoint; its failure must not take the writes along."""
    store = await PostgresStore.open(postgres_url)
    entered, gate = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        entered.set()
        gate.wait(WAIT_S)

    def bad_read(tx: Transaction) -> object:
        return tx.list_executions(status=None, workflow=None, limit=-1, offset=0)  # PostgreSQL refuses LIMIT -1

    try:
        holder = asyncio.ensure_future(store.run(hold))
        assert await asyncio.to_thread(entered.wait, WAIT_S)
        before = asyncio.ensure_future(store.run(lambda tx: tx.insert_execution(execution("before"))))
        failed = asyncio.ensure_future(store.read(bad_read))
        after = asyncio.ensure_future(store.run(lambda tx: tx.insert_execution(execution("after"))))
        await asyncio.sleep(0)
        gate.set()
        await holder

        outcomes = await asyncio.gather(before, failed, after, return_exceptions=True)
        assert outcomes[0] is True
        assert isinstance(outcomes[1], StoreUnavailable)
        assert outcomes[2] is True
        rows = await store.read(lambda tx: [tx.get_execution(e) for e in ("before", "after")])
        assert [r.id for r in rows if r is not None] == ["before", "after"]
    finally:
        await store.close()


async def test_a_thread_transition_whose_batch_runs_again_alone_is_called_back_once(postgres_url: str) -> None:
    """A statement of the batch fails: each transition runs again alone, the thread's one included, and is told once."""
    store = await PostgresStore.open(postgres_url)
    entered, gate = threading.Event(), threading.Event()
    calls: list[tuple[object, BaseException | None, threading.Thread]] = []
    called = threading.Event()

    def hold(tx: Transaction) -> None:
        entered.set()
        gate.wait(WAIT_S)

    def bad_write(tx: Transaction) -> object:
        tx.insert_execution(execution("bad"))
        return tx.list_executions(status=None, workflow=None, limit=-1, offset=0)  # PostgreSQL refuses LIMIT -1

    def insert_e1(tx: Transaction) -> str:
        tx.insert_execution(execution("e1"))
        return "e1"

    def done(result: object, error: BaseException | None) -> None:
        calls.append((result, error, threading.current_thread()))
        called.set()

    try:
        holder = asyncio.ensure_future(store.run(hold))
        assert await asyncio.to_thread(entered.wait, WAIT_S)
        failing = asyncio.ensure_future(store.run(bad_write))
        await asyncio.sleep(0)  # queued before the thread's transition

        def submit() -> threading.Thread:
            store.run_in_thread(insert_e1, done)
            return threading.current_thread()

        submitted_on = await asyncio.to_thread(submit)
        gate.set()
        await holder
        with pytest.raises(StoreUnavailable):
            await failing
        assert await asyncio.to_thread(called.wait, WAIT_S)
        rows = await store.read(lambda tx: [tx.get_execution(e) for e in ("bad", "e1")])
        assert [r.id for r in rows if r is not None] == ["e1"]
        await store.close()  # its thread has ended: a second call back would have come
        assert [(result, error) for result, error, _ in calls] == [("e1", None)]
        assert calls[0][2] is not submitted_on  # queued behind a batch: the store's thread ran it
    finally:
        gate.set()
        await store.close()


async def test_a_thread_transition_waits_for_a_row_another_connection_holds_and_reads_it_after(
    postgres_url: str,
) -> None:
    """Run on a worker's thread, a transition still takes the row's lock before it reads what it acts on."""
    store = await PostgresStore.open(postgres_url)
    other = psycopg.connect(postgres_url)
    seen: list[str | None] = []
    called = threading.Event()
    outcome: list[tuple[object, BaseException | None]] = []

    def append_mark(tx: Transaction) -> str | None:
        row = tx.get_execution("e1")
        assert row is not None
        seen.append(row.task_error)
        tx.update_execution("e1", task_error=f"{row.task_error}+thread")
        return row.task_error

    def done(result: object, error: BaseException | None) -> None:
        outcome.append((result, error))
        called.set()

    try:
        await store.run(lambda tx: tx.insert_execution(execution("e1")))
        other.execute(f"UPDATE {postgres_schema.SCHEMA}.executions SET task_error = 'other' WHERE id = 'e1'")
        # The store is idle: the submitting thread runs the batch itself, and waits there for the row.
        submitted = asyncio.ensure_future(asyncio.to_thread(store.run_in_thread, append_mark, done))
        await wait_for_lock_wait(postgres_url)
        assert not called.is_set()
        other.commit()
        await submitted
        assert called.is_set()
        assert outcome == [("other", None)]
        assert seen == ["other"]
        row = await store.read(lambda tx: tx.get_execution("e1"))
        assert row is not None
        assert row.task_error == "other+thread"
    finally:
        other.close()
        await store.close()


async def wait_for_lock_wait(url: str) -> None:
    """Return once a connection to the database waits for a lock (polled, bounded)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(int(WAIT_S / 0.01)):
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
            if row is not None and row[0] > 0:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("no connection waited for a lock")


async def test_statements_planned_afresh_as_tables_grow_keep_working(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each time the store's transitions double, its statements are planned again; every one still runs after."""
    monkeypatch.setattr(store_module, "_FIRST_REPLAN", 1)  # planned afresh after 1, 2, 4, 8, ... transitions
    store = await PostgresStore.open(postgres_url)
    try:

        def insert(i: int) -> Callable[[Transaction], bool]:
            return lambda tx: tx.insert_execution(execution(f"e{i}"))

        def update(i: int) -> Callable[[Transaction], None]:
            return lambda tx: tx.update_execution(f"e{i}", task_error=f"step {i}")

        for i in range(40):  # statements are prepared after five runs: some are by the replans at 8, 16 and 32
            await store.run(insert(i))
            await store.run(update(i))
        rows = await store.read(lambda tx: [tx.get_execution(f"e{i}") for i in range(40)])
        assert [r.task_error for r in rows if r is not None] == [f"step {i}" for i in range(40)]
    finally:
        await store.close()


async def test_a_read_batched_with_a_write_that_loses_its_connection_runs_again_and_the_write_fails(
    postgres_url: str,
) -> None:
    # A worker's write and a caller's read may share a batch: the read changed nothing, and is
    # answered on a new connection; whether the write committed may be unknown, so it fails.
    store = await PostgresStore.open(postgres_url)

    try:
        await store.run(lambda tx: tx.insert_execution(execution("before")))
        holder, gate = await held_busy(store)
        writing = asyncio.ensure_future(store.run(cutting_then_inserting(postgres_url)))
        reading = asyncio.ensure_future(store.read(lambda tx: tx.get_execution("before")))
        for _ in range(5):
            await asyncio.sleep(0)  # turns of the event loop: both queue behind the held batch
        gate.set()
        await holder

        with pytest.raises(StoreUnavailable):
            await writing
        assert await reading == execution("before")
        assert await store.read(ids) == ["before"]
    finally:
        await store.close()
