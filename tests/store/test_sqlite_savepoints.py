"""SQLite opens a savepoint only when something inside it writes; a write it did not see fails loudly.

The transitions of a batch share its transaction without savepoints of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tether.errors import StoreUnavailable
from tether.store.base import Transaction
from tether.store.sqlite.store import SQLiteStore
from tether.store.sqlite.transaction import SQLiteTransaction

from .test_store_contract import Boom, execution, insert, run_in_one_batch


async def test_write_the_savepoint_did_not_cover_fails_the_transition_instead_of_half_committing(
    tmp_path: Path,
) -> None:
    store = await SQLiteStore.open(f"sqlite:///{tmp_path}/t.db")
    try:

        def transition(tx: Transaction) -> None:
            assert isinstance(tx, SQLiteTransaction)
            tx.insert_execution(execution("before"))
            try:
                with tx.savepoint():
                    tx._conn.execute("DELETE FROM executions WHERE id = 'before'")  # past the bookkeeping
                    raise Boom
            except Boom:
                pass

        with pytest.raises(StoreUnavailable):
            await store.run(transition)
        assert await store.read(lambda tx: tx.get_execution("before")) is None
    finally:
        await store.close()


async def test_transitions_sharing_a_batch_send_no_savepoints(tmp_path: Path) -> None:
    store = await SQLiteStore.open(f"sqlite:///{tmp_path}/t.db")
    try:
        await insert(store, *(execution(f"e{i}") for i in range(3)))
        sent: list[str] = []
        store._conn.set_trace_callback(sent.append)  # type: ignore[union-attr]

        def close(execution_id: str) -> Callable[[Transaction], None]:
            return lambda tx: tx.update_execution(execution_id, status="completed")

        outcomes = await run_in_one_batch(store, [close(f"e{i}") for i in range(3)])

        assert outcomes == [None, None, None]
        assert [s for s in sent if s.split()[0] in ("SAVEPOINT", "RELEASE", "ROLLBACK")] == []
        assert [s.split()[0] for s in sent].count("COMMIT") == 2  # the batch holding the store, then this one
    finally:
        await store.close()
