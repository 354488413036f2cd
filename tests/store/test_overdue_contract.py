"""The store contract for the overdue view: each criterion, an activity overdue twice listed once, pages."""

from __future__ import annotations

import json
from typing import Any

from tests.store.test_listing_contract import execution
from tether.store.base import Store, Transaction
from tether.store.rows import ActivityRow, TimerRow

NOW = 1_000_000


def activity(execution_id: str, options: dict[str, Any], started: int) -> ActivityRow:
    return ActivityRow(
        execution_id, 1, "act", "scheduled", 1, "[]", json.dumps(options), started, None, None, None, None, None,
        False, False, None, None,
    )  # fmt: skip


async def arrange(store: Store) -> None:
    """Waiting activities, one per execution, and what makes each overdue (or not) at NOW."""

    def run(tx: Transaction) -> None:
        for execution_id, workflow, options, started, state, timer in [
            ("own-late", "orders.a", {"overdue_after_ms": 500}, NOW - 600, "async", None),
            ("own-early", "orders.a", {"overdue_after_ms": 500}, NOW - 400, "async", None),
            ("plain-old", "billing.b", {}, NOW - 900, "async", None),
            ("plain-new", "billing.b", {}, NOW - 10, "async", None),
            ("total-near", "orders.a", {"timeout_ms": 100}, NOW - 50, "async", ("total", 0, NOW + 50)),
            # Its heartbeat timer is due soon, but a heartbeat moved its deadline past the horizon.
            ("beat-moved", "orders.a", {"heartbeat_ms": 100}, NOW - 95, "async", ("heartbeat", 1, NOW + 5)),
            ("wf-near", "orders.a", {}, NOW - 20, "async", ("workflow", 0, NOW + 30)),
            ("running", "orders.a", {"overdue_after_ms": 1}, NOW - 900, "running", ("total", 0, NOW + 1)),
            # Twice overdue: by its age and by its deadline; listed once.
            ("both", "orders.a", {"overdue_after_ms": 1, "timeout_ms": 1000}, NOW - 900, "async", ("total", 0, NOW)),
        ]:
            tx.insert_execution(execution(execution_id, workflow))
            tx.insert_activity(activity(execution_id, options, started))
            tx.update_activity(execution_id, 1, state=state, attempt_started_at_ms=started)
            if execution_id == "beat-moved":
                tx.update_activity(execution_id, 1, last_heartbeat_at_ms=NOW - 10)
            if timer is not None:
                kind, attempt, due = timer
                tx.arm_timer(TimerRow(execution_id, kind, 0 if kind == "workflow" else 1, attempt, due))

    await store.run(run)


async def listed(store: Store, **options: Any) -> list[str]:
    chosen = {"default_cut_ms": None, "horizon_ms": None, "limit": 20, "offset": 0, **options}
    rows = await store.read(lambda tx: tx.overdue_activities(now_ms=NOW, **chosen))
    return [row.execution_id for row, _, _ in rows]


async def test_each_criterion_lists_its_own_and_an_activity_overdue_twice_comes_once(store: Store) -> None:
    await arrange(store)

    assert await listed(store) == ["both", "own-late"]
    assert await listed(store, default_cut_ms=NOW - 100) == ["both", "plain-old", "own-late"]
    assert await listed(store, horizon_ms=NOW + 60) == ["both", "own-late", "total-near", "wf-near"]
    assert await listed(store, default_cut_ms=NOW - 100, horizon_ms=NOW + 60) == [
        "both", "plain-old", "own-late", "total-near", "wf-near",
    ]  # fmt: skip


async def test_overdue_pages_and_filters_apply_to_every_criterion(store: Store) -> None:
    await arrange(store)
    every = {"default_cut_ms": NOW - 100, "horizon_ms": NOW + 60}

    pages = [await listed(store, limit=2, offset=offset, **every) for offset in (0, 2, 4)]
    orders = await listed(store, workflow_patterns=["orders.*"], **every)
    billing = await listed(store, workflow="billing.b", **every)
    nothing = await listed(store, name="other", **every)

    assert pages == [["both", "plain-old"], ["own-late", "total-near"], ["wf-near"]]
    assert orders == ["both", "own-late", "total-near", "wf-near"]
    assert billing == ["plain-old"]
    assert nothing == []
