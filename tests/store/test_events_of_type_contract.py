"""The store contract for reading one type of an execution's events (describe's patches come from it)."""

from __future__ import annotations

from tether.model.events import Event, EventType
from tether.store.base import Store, Transaction

from .test_store_contract import append, execution, insert


async def test_events_of_type_returns_that_types_events_of_that_execution_in_order(store: Store) -> None:
    await insert(store, execution("e1"), execution("e2"))
    await append(store, "e1", [(EventType.WORKFLOW_STARTED, "{}"), (EventType.PATCH_RECORDED, '{"name":"a"}')], 10)
    await append(store, "e2", [(EventType.PATCH_RECORDED, '{"name":"other"}')], 10)
    await append(store, "e1", [(EventType.TIMER_STARTED, "{}"), (EventType.PATCH_RECORDED, '{"name":"b"}')], 20)

    found = await store.read(lambda tx: tx.events_of_type("e1", EventType.PATCH_RECORDED))

    assert found == [
        Event(2, EventType.PATCH_RECORDED, 10, {"name": "a"}),
        Event(4, EventType.PATCH_RECORDED, 20, {"name": "b"}),
    ]
    assert await store.read(lambda tx: tx.events_of_type("e1", EventType.TIMER_FIRED)) == []
    assert await store.read(lambda tx: tx.events_of_type("missing", EventType.PATCH_RECORDED)) == []


async def test_events_of_type_sees_the_events_its_own_transition_appended(store: Store) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> list[Event]:
        tx.get_execution("e1")  # a writing transition reads (and locks) the execution first
        tx.append_events("e1", [(EventType.PATCH_RECORDED, '{"name":"a"}')], 10)
        return tx.events_of_type("e1", EventType.PATCH_RECORDED)

    assert await store.run(transition) == [Event(1, EventType.PATCH_RECORDED, 10, {"name": "a"})]
