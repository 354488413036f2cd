"""SQLite opens a savepoint only when something inside it writes; a write it did not see fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.errors import StoreUnavailable
from tether.store.base import Transaction
from tether.store.sqlite.store import SQLiteStore
from tether.store.sqlite.transaction import SQLiteTransaction

from .test_store_contract import Boom, execution


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
