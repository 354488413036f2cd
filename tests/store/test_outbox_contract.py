"""The store contract for notifications out: the outbox's leases and states, and sinks, on every backend."""

from __future__ import annotations

import dataclasses

from tether.store.base import Store, Transaction
from tether.store.rows import OutboxRow, SinkRow

from .test_store_contract import execution, insert


def row(delivery_id: str, url: str, *, state: str = "pending", due: int | None = 1_000, event: str = "w") -> OutboxRow:
    return OutboxRow(
        delivery_id=delivery_id, execution_id="x1", activity_id=1, attempt=1, event=event, url=url, payload="{}",
        state=state, tries=0, next_try_at_ms=due, last_error=None, created_at_ms=500, updated_at_ms=None,
    )  # fmt: skip


async def test_the_outbox_leases_due_rows_once_passes_over_busy_urls_and_releases_held_ones(store: Store) -> None:
    await insert(store, execution("x1"))
    rows = [row("d1", "http://a"), row("d2", "http://b", due=2_000), row("d3", "http://c", state="held", due=None)]
    await store.run(lambda tx: tx.insert_outbox(rows))

    claimed = await store.run(lambda tx: tx.claim_outbox(now_ms=1_500, owner="w1", lease_until_ms=9_000, limit=10))
    assert claimed == [dataclasses.replace(rows[0], owner="w1", leased_until_ms=9_000)]
    assert await store.read(lambda tx: tx.next_outbox_due_ms()) == 2_000
    again = await store.run(
        lambda tx: tx.claim_outbox(now_ms=2_500, owner="w2", lease_until_ms=9_000, limit=10, exclude_urls=["http://b"])
    )
    assert again == []  # d1 is leased, d2's URL is busy here, d3 is held
    assert await store.read(lambda tx: tx.next_outbox_due_ms()) == 2_000

    assert await store.run(lambda tx: tx.release_held_outbox("http://c", 3_000)) == 1
    assert await store.run(lambda tx: tx.release_held_outbox("http://c", 3_000)) == 0
    taken = await store.run(lambda tx: tx.claim_outbox(now_ms=3_000, owner="w2", lease_until_ms=9_500, limit=1))
    assert [r.delivery_id for r in taken] == ["d2"]  # the oldest due first, one as asked
    await store.run(lambda tx: tx.update_outbox("d2", state="delivered", tries=1, owner=None, leased_until_ms=0))
    assert await store.read(lambda tx: tx.next_outbox_due_ms()) == 3_000
    # The lease of d1 ran out: it is due again, to anyone.
    late = await store.run(lambda tx: tx.claim_outbox(now_ms=9_000, owner="w3", lease_until_ms=19_000, limit=10))
    assert [(r.delivery_id, r.owner) for r in late] == [("d1", "w3"), ("d3", "w3")]

    fetched = await store.read(lambda tx: tx.get_outbox("d2"))
    assert fetched is not None
    assert (fetched.state, fetched.tries, fetched.owner) == ("delivered", 1, None)
    assert await store.read(lambda tx: tx.outbox_urls("x1", 1, "w")) == ["http://a", "http://b", "http://c"]
    assert await store.read(lambda tx: tx.outbox_urls("x1", 1, "other")) == []

    # Deleting the execution removes what is done or held; what is still due stays to be delivered.
    await store.run(lambda tx: tx.insert_outbox([row("d4", "http://d", state="held", due=None)]))
    await store.run(lambda tx: tx.delete_executions(["x1"]))
    assert [r.delivery_id for r in await store.read(lambda tx: tx.outbox_of("x1"))] == ["d1", "d3"]


async def test_sinks_are_listed_oldest_first_and_disabled_ones_are_no_longer_active(store: Store) -> None:
    first = SinkRow("snk_1", "http://a", "whsec_1", True, 1_000, None)
    second = SinkRow("snk_2", "http://b", "whsec_2", False, 2_000, None)

    def change(tx: Transaction) -> None:
        tx.insert_sink(first)
        tx.insert_sink(second)
        tx.update_sink("snk_1", disabled_at_ms=3_000)
        tx.update_sink("snk_2", secret="s")

    await store.run(change)

    assert await store.read(lambda tx: tx.active_sinks()) == [dataclasses.replace(second, secret="s")]
    assert await store.read(lambda tx: tx.list_sinks()) == [
        dataclasses.replace(first, disabled_at_ms=3_000),
        dataclasses.replace(second, secret="s"),
    ]
    # A URL can be registered again once its sink is removed.
    await store.run(lambda tx: tx.insert_sink(SinkRow("snk_3", "http://a", "whsec_3", False, 4_000, None)))
    assert [s.sink_id for s in await store.read(lambda tx: tx.active_sinks())] == ["snk_2", "snk_3"]
