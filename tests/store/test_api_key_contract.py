"""The store contract for API keys and for listing executions by workflow-name patterns."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tether.store.base import Store, Transaction
from tether.store.rows import ApiKeyRow, ExecutionRow

from .conftest import open_url


def key(key_id: str, *, name: str = "billing", created_at_ms: int = 1_000) -> ApiKeyRow:
    return ApiKeyRow(key_id, name, "ab" * 32, '["activities:write:orders.*"]', created_at_ms, None)


def execution(execution_id: str, workflow: str, created_at_ms: int) -> ExecutionRow:
    return ExecutionRow(execution_id, workflow, "running", "[]", None, None, created_at_ms, None, False, None, 0)


async def insert_executions(store: Store, *rows: ExecutionRow) -> None:
    def insert_all(tx: Transaction) -> None:
        for row in rows:
            assert tx.insert_execution(row)

    await store.run(insert_all)


async def listed(store: Store, patterns: Sequence[str] | None) -> list[str]:
    rows = await store.read(
        lambda tx: tx.list_executions(status=None, workflow=None, limit=100, offset=0, workflow_patterns=patterns)
    )
    return [row.id for row in rows]


async def test_inserted_key_reads_back_and_lists_oldest_first(store: Store) -> None:
    await store.run(lambda tx: tx.insert_api_key(key("k2", created_at_ms=2_000)))
    await store.run(lambda tx: tx.insert_api_key(key("k1", name="audit", created_at_ms=1_000)))

    assert await store.read(lambda tx: tx.get_api_key("k2")) == key("k2", created_at_ms=2_000)
    assert await store.read(lambda tx: tx.get_api_key("missing")) is None
    assert [k.key_id for k in await store.read(lambda tx: tx.list_api_keys())] == ["k1", "k2"]


async def test_revoking_a_key_marks_it_once_and_leaves_others_active(store: Store) -> None:
    await store.run(lambda tx: tx.insert_api_key(key("k1")))
    await store.run(lambda tx: tx.insert_api_key(key("k2")))

    assert await store.run(lambda tx: tx.revoke_api_key("k1", 5_000)) is True
    assert await store.run(lambda tx: tx.revoke_api_key("k1", 6_000)) is False
    assert await store.run(lambda tx: tx.revoke_api_key("missing", 6_000)) is False

    revoked = await store.read(lambda tx: tx.get_api_key("k1"))
    assert revoked is not None
    assert revoked.revoked_at_ms == 5_000
    assert await store.read(lambda tx: tx.has_active_api_keys()) is True
    await store.run(lambda tx: tx.revoke_api_key("k2", 7_000))
    assert await store.read(lambda tx: tx.has_active_api_keys()) is False


async def test_a_sigv4_secret_is_set_and_replaced_on_active_keys_only(store: Store) -> None:
    await store.run(lambda tx: tx.insert_api_key(key("k1")))
    await store.run(lambda tx: tx.insert_api_key(key("k2")))
    await store.run(lambda tx: tx.revoke_api_key("k2", 5_000))

    assert await store.run(lambda tx: tx.set_api_key_sigv4("k1", "sealed-1")) is True
    assert await store.run(lambda tx: tx.set_api_key_sigv4("k1", "sealed-2")) is True
    assert await store.run(lambda tx: tx.set_api_key_sigv4("k2", "sealed-3")) is False
    assert await store.run(lambda tx: tx.set_api_key_sigv4("missing", "sealed-4")) is False

    rows = {r.key_id: r.sigv4_secret for r in await store.read(lambda tx: tx.list_api_keys())}
    assert rows == {"k1": "sealed-2", "k2": None}


async def test_a_new_store_has_no_active_keys(store: Store) -> None:
    assert await store.read(lambda tx: tx.has_active_api_keys()) is False
    assert await store.read(lambda tx: tx.list_api_keys()) == []


async def test_keys_are_durable_across_reopening(store: Store) -> None:
    await store.run(lambda tx: tx.insert_api_key(key("k1")))
    second = await open_url(store.url)
    try:
        assert await second.read(lambda tx: tx.get_api_key("k1")) == key("k1")
    finally:
        await second.close()


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (None, ["e4", "e3", "e2", "e1"]),
        ([], []),
        (["orders.*"], ["e2", "e1"]),
        (["orders.fulfil"], ["e1"]),
        (["*.refund", "billing"], ["e4", "e2"]),
        (["*"], ["e4", "e3", "e2", "e1"]),
        (["orders"], []),
    ],
)
async def test_list_executions_keeps_only_workflows_matching_a_pattern(
    store: Store, patterns: list[str] | None, expected: list[str]
) -> None:
    await insert_executions(
        store,
        execution("e1", "orders.fulfil", 1),
        execution("e2", "orders.refund", 2),
        execution("e3", "ordersXfulfil", 3),
        execution("e4", "billing", 4),
    )

    assert await listed(store, patterns) == expected
