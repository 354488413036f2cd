"""The store contract for published values: ``publish_value`` and the reads and copy of them, on every backend."""

from __future__ import annotations

from collections.abc import Callable

from tether.store.base import Store, Transaction
from tether.store.rows import PublishedRow

from .test_store_contract import execution, insert


def publish(execution_id: str, name: str, value: str, at_ms: int = 1_000) -> Callable[[Transaction], None]:
    return lambda tx: tx.publish_value(execution_id, name, value, at_ms)


async def test_each_publish_of_a_name_is_one_version_more_and_the_last_value_wins(store: Store) -> None:
    await insert(store, execution("e"))
    for at_ms, value in ((1_000, '{"done":1}'), (2_000, '{"done":2}'), (3_000, '"three"')):
        await store.run(publish("e", "progress", value, at_ms))
    await store.run(lambda tx: tx.publish_value("e", "other", "null", 4_000))

    assert await store.read(lambda tx: tx.published_value("e", "progress")) == PublishedRow(
        "progress", '"three"', 3, 3_000
    )
    assert await store.read(lambda tx: tx.published_value("e", "missing")) is None
    assert await store.read(lambda tx: tx.published_value("other-execution", "progress")) is None


async def test_published_values_lists_every_name_of_one_execution_by_name(store: Store) -> None:
    await insert(store, execution("e"), execution("f"))
    for name in ("b", "B", "a", "a2"):
        await store.run(publish("e", name, "1"))
    await store.run(lambda tx: tx.publish_value("f", "z", "1", 1_000))

    listed = await store.read(lambda tx: tx.published_values("e"))

    assert [row.name for row in listed] == ["B", "a", "a2", "b"]


async def test_copied_values_keep_their_versions_and_count_on_in_the_copy(store: Store) -> None:
    await insert(store, execution("run-1"), execution("run-2"))

    for value in ("1", "2"):
        await store.run(publish("run-1", "n", value))
    await store.run(lambda tx: tx.copy_published_values("run-1", "run-2"))
    await store.run(lambda tx: tx.publish_value("run-2", "n", "3", 2_000))

    assert await store.read(lambda tx: tx.published_value("run-2", "n")) == PublishedRow("n", "3", 3, 2_000)
    assert await store.read(lambda tx: tx.published_value("run-1", "n")) == PublishedRow("n", "2", 2, 1_000)
