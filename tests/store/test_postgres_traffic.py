"""What a PostgreSQL transition sends: the statements and the round trips of a step of sync activities.

A step completes an activity, queues the workflow task, runs it inline (it schedules the next
activity) and starts that activity. Its writes to the execution's rows are held back and
sent as one statement, with the notice to other stores (``pg_notify``) if it has one. The
step is the lock, the read behind it and the writes, in an implicit transaction (no BEGIN, no
COMMIT: the pipeline's Sync commits it), and waits twice (for the lock and its read, and for
the commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import threading
from collections.abc import AsyncIterator, Callable

import pytest

from tether.engine.engine import Engine
from tether.errors import StoreUnavailable
from tether.model import notifications
from tether.model.clock import VirtualClock
from tether.model.events import Event, EventType
from tether.store.base import Touches, Transaction
from tether.store.postgres.store import PostgresStore
from tether.store.postgres.traffic import TRAFFIC
from tether.store.postgres.transaction import PostgresTransaction
from tether.store.rows import ActivityRow, ActivityTaskRow, OutboxRow, TimerRow

from . import test_concurrent_activity_tokens
from .test_store_contract import ACT, WF, Boom, activity, execution, history, insert

pytestmark = pytest.mark.postgres


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_url)
    yield opened
    await opened.close()


def counts() -> tuple[int, int]:
    return TRAFFIC.statements, TRAFFIC.round_trips


def start(tx: Transaction, activity_id: int) -> None:
    tx.insert_activity(activity("e1", activity_id))
    tx.enqueue_activity_task(ActivityTaskRow("e1", activity_id, 1, ACT))
    assert tx.finish_workflow_task("e1", "w1", 1_000)
    tx.append_events("e1", [(EventType.ACTIVITY_SCHEDULED, "{}")], 5)


def take(tx: Transaction, activity_id: int) -> None:
    assert tx.claim_activity_task(ActivityTaskRow("e1", activity_id, 1, ACT))
    tx.update_activity("e1", activity_id, state="running", attempt_started_at_ms=5, worker="w1")
    tx.append_events("e1", [(EventType.ACTIVITY_ATTEMPT_STARTED, "{}")], 5)


def step(tx: Transaction) -> None:
    assert tx.get_activity("e1", 1) is not None
    tx.update_activity("e1", 1, state="completed", closed_at_ms=5, result="2")
    tx.append_events("e1", [(EventType.ACTIVITY_COMPLETED, "{}")], 5)
    tx.enqueue_workflow_task("e1", 5)
    assert tx.claim_workflow_task("e1", now_ms=5, owner="w1", lease_until_ms=1_000, workflows=[WF])
    with tx.savepoint():
        start(tx, 2)
    take(tx, 2)


async def first(store: PostgresStore) -> None:
    await insert(store, execution("e1"))

    def transition(tx: Transaction) -> None:
        tx.enqueue_workflow_task("e1", 0)
        assert tx.claim_workflow_task("e1", now_ms=0, owner="w1", lease_until_ms=1_000, workflows=[WF])
        start(tx, 1)
        take(tx, 1)

    await store.run(transition)


async def test_a_step_of_sync_activities_is_three_statements_and_two_round_trips(store: PostgresStore) -> None:
    await first(store)

    before = counts()
    await store.run(step)
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    assert (statements, round_trips) == (3, 2)
    done = await store.read(lambda tx: tx.get_activity("e1", 1))
    running = await store.read(lambda tx: tx.get_activity("e1", 2))
    assert done == dataclasses.replace(
        activity("e1", 1), attempt_started_at_ms=5, state="completed", closed_at_ms=5, result="2"
    )
    assert running == dataclasses.replace(activity("e1", 2), state="running", attempt_started_at_ms=5)
    assert await store.read(lambda tx: tx.attempts_of_worker("w1")) == [("e1", 2, 1)]
    assert await store.run(lambda tx: tx.claim_activity_tasks(activities=[ACT], limit=10)) == []
    assert await store.read(lambda tx: tx.has_ready_work(10_000, [WF], [ACT])) is False
    assert [e.seq for e in await history(store, "e1")] == list(range(1, 6))


async def test_a_savepoint_whose_writes_were_all_held_back_is_never_sent_and_undoes_them(store: PostgresStore) -> None:
    await first(store)

    def undone(tx: Transaction) -> None:
        with tx.savepoint():
            tx.update_activity("e1", 1, result="undone")
            tx.insert_activity(activity("e1", 2))
            tx.enqueue_activity_task(ActivityTaskRow("e1", 2, 1, ACT))
            tx.append_events("e1", [(EventType.ACTIVITY_SCHEDULED, "{}")], 5)
            raise Boom

    def transition(tx: Transaction) -> None:
        assert tx.get_activity("e1", 1) is not None
        tx.update_activity("e1", 1, state="completed", closed_at_ms=5, result="2")
        with pytest.raises(Boom):
            undone(tx)

    before = counts()
    await store.run(transition)
    statements = counts()[0] - before[0]

    assert statements == 3  # the lock, the read, the writes kept: no savepoint, no BEGIN or COMMIT
    done = await store.read(lambda tx: tx.get_activity("e1", 1))
    assert done == dataclasses.replace(
        activity("e1", 1), attempt_started_at_ms=5, state="completed", closed_at_ms=5, result="2"
    )
    assert await store.read(lambda tx: tx.get_activity("e1", 2)) is None
    assert await store.run(lambda tx: tx.claim_activity_tasks(activities=[ACT], limit=10)) == []
    assert [e.seq for e in await history(store, "e1")] == [1, 2]


@contextlib.asynccontextmanager
async def holding(store: PostgresStore) -> AsyncIterator[None]:
    """Hold the store's thread (in a read of its own) until the block ends: what the block queues is one batch."""
    running, release = threading.Event(), threading.Event()

    def hold(tx: Transaction) -> None:
        running.set()
        release.wait()

    held = asyncio.ensure_future(store.read(hold))
    await asyncio.to_thread(running.wait)
    try:
        yield
        await asyncio.sleep(0)  # each submission puts its job on the queue
    finally:
        release.set()
        await held


async def in_one_batch(store: PostgresStore, *transitions: Callable[[Transaction], object]) -> list[object]:
    """Run transitions in one batch: the store's thread is held until all of them are queued."""
    async with holding(store):
        queued = [asyncio.ensure_future(store.run(t)) for t in transitions]
    return await asyncio.gather(*queued, return_exceptions=True)


def complete(tx: Transaction) -> None:
    assert tx.get_activity("e1", 1) is not None
    tx.update_activity("e1", 1, state="completed", closed_at_ms=5, result="2")
    tx.append_events("e1", [(EventType.ACTIVITY_COMPLETED, "{}")], 5)


async def test_transitions_sharing_a_batch_send_no_savepoints_unless_they_write_ahead(store: PostgresStore) -> None:
    await first(store)
    await insert(store, execution("e2"))

    def other(tx: Transaction) -> None:
        assert tx.get_execution("e2") is not None
        tx.append_events("e2", [(EventType.WORKFLOW_CANCEL_REQUESTED, "{}")], 5)

    before = counts()
    assert await in_one_batch(store, complete, other) == [None, None]
    statements = counts()[0] - before[0]

    # The first lock and its read, its writes (sent before the next read), the second lock
    # and its read, its writes: no SAVEPOINT, no RELEASE, no BEGIN or COMMIT
    assert statements == 6
    assert [e.seq for e in await history(store, "e1")][-1] == 3
    assert [e.seq for e in await history(store, "e2")] == [1]


async def test_a_refused_transition_that_wrote_ahead_changes_nothing_while_the_others_commit(
    store: PostgresStore,
) -> None:
    await first(store)
    await insert(store, execution("e2"))

    def refused(tx: Transaction) -> None:
        assert tx.get_execution("e2") is not None
        tx.update_execution("e2", status="failed")  # sent at once: only rolling back undoes it
        tx.append_events("e2", [(EventType.WORKFLOW_CANCEL_REQUESTED, "{}")], 5)
        raise Boom

    results = await in_one_batch(store, complete, refused)

    assert results[0] is None
    assert isinstance(results[1], Boom)
    done = await store.read(lambda tx: tx.get_activity("e1", 1))
    assert done is not None
    assert done.state == "completed"
    e2 = await store.read(lambda tx: tx.get_execution("e2"))
    assert e2 is not None
    assert e2.status == "running"
    assert await history(store, "e2") == []


async def test_closing_an_execution_is_one_statement_of_writes_and_reads_its_link_behind_the_lock(
    store: PostgresStore,
) -> None:
    await first(store)
    await store.run(lambda tx: tx.arm_timer(TimerRow("e1", "sleep", 7, 1, 100)))

    def close(tx: Transaction) -> None:
        assert tx.get_execution("e1") is not None
        tx.delete_execution_timers("e1")
        assert tx.get_link("e1") is None
        tx.append_events("e1", [(EventType.WORKFLOW_COMPLETED, "{}")], 5)
        tx.update_execution("e1", status="completed", closed_at_ms=5, result="3")

    before = counts()
    await store.run(close)
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    # The lock, the read behind it (the link too), the writes with the notice
    assert (statements, round_trips) == (3, 2)
    closed = await store.read(lambda tx: tx.get_execution("e1"))
    assert closed is not None
    assert (closed.status, closed.closed_at_ms, closed.result, closed.last_seq) == ("completed", 5, "3", 3)
    assert await store.read(lambda tx: tx.timers_of("e1")) == []
    assert [e.seq for e in await history(store, "e1")] == [1, 2, 3]


async def test_claiming_attempts_reads_what_starting_them_needs_behind_the_locks_in_the_same_round_trip(
    store: PostgresStore,
) -> None:
    await insert(store, execution("e1"), execution("e2"))

    def schedule(tx: Transaction) -> None:
        for execution_id in ("e1", "e2"):
            tx.insert_activity(activity(execution_id, 1))
            tx.enqueue_activity_task(ActivityTaskRow(execution_id, 1, 1, ACT))
        tx.arm_timer(TimerRow("e2", "workflow", 0, 1, 500))

    await store.run(schedule)
    seen: list[tuple[str, int | None, str | None]] = []

    def start_all(tx: Transaction) -> None:
        for task in tx.claim_activity_tasks(activities=[ACT], limit=10):
            row = tx.get_activity(task.execution_id, task.activity_id)
            execution_row = tx.get_execution(task.execution_id)
            assert row is not None
            assert execution_row is not None
            seen.append((execution_row.id, tx.workflow_deadline_ms(task.execution_id), row.state))
            tx.update_activity(task.execution_id, task.activity_id, state="running", attempt_started_at_ms=5)
            tx.append_events(task.execution_id, [(EventType.ACTIVITY_ATTEMPT_STARTED, "{}")], 5)

    before = counts()
    await store.run(start_all)
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    # The claim and the read behind its locks, the writes with the notice
    assert (statements, round_trips) == (3, 2)
    assert sorted(seen) == [("e1", None, "scheduled"), ("e2", 500, "scheduled")]
    for execution_id in ("e1", "e2"):
        running = await store.read(functools.partial(_activity_one, execution_id))
        assert running == dataclasses.replace(activity(execution_id, 1), state="running", attempt_started_at_ms=5)
        assert [e.seq for e in await history(store, execution_id)] == [1]


def _activity_one(execution_id: str, tx: Transaction) -> ActivityRow | None:
    return tx.get_activity(execution_id, 1)


async def test_a_claim_that_takes_nothing_reads_nothing_stale(store: PostgresStore) -> None:
    await first(store)
    await store.run(lambda tx: tx.enqueue_activity_task(ActivityTaskRow("e1", 1, 2, ACT)))

    def twice(tx: Transaction) -> list[list[ActivityTaskRow]]:
        return [tx.claim_activity_tasks(activities=[ACT], limit=10) for _ in range(2)]

    taken, again = await store.run(twice)

    assert taken == [ActivityTaskRow("e1", 1, 2, ACT)]
    assert again == []
    assert await store.run(lambda tx: tx.claim_activity_tasks(activities=[ACT], limit=10)) == []


async def test_open_activities_not_read_behind_the_lock_are_read_from_the_database(store: PostgresStore) -> None:
    await first(store)
    await store.run(lambda tx: tx.insert_activity(activity("e1", 4)))

    def close_one(tx: Transaction) -> list[int]:
        assert tx.get_activity("e1", 1) is not None
        tx.update_activity("e1", 1, state="completed", closed_at_ms=5, result="2")
        return [row.activity_id for row in tx.open_activities("e1")]

    assert await store.run(close_one) == [4]


async def test_events_expected_are_read_with_the_lock_in_the_same_round_trip(store: PostgresStore) -> None:
    await first(store)  # events 1 and 2
    await store.run(lambda tx: complete(tx))  # event 3, in a transaction of its own
    loaded: list[list[Event]] = []

    def resume(tx: Transaction) -> None:
        tx.expect_events("e1", 1)
        assert tx.get_activity("e1", 1) is not None
        tx.append_events("e1", [(EventType.WORKFLOW_TASK_COMPLETED, '{"seen":3}')], 5)
        loaded.append(tx.load_events("e1", 1))
        loaded.append(tx.load_events("e1", 2))

    before = counts()
    await store.run(resume)
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    # The lock, the read behind it (the events too), the writes with the notice
    assert (statements, round_trips) == (3, 2)
    stored = await history(store, "e1")
    assert [e.seq for e in stored] == [1, 2, 3, 4]
    assert loaded == [stored[1:], stored[2:]]


async def test_claiming_workflow_tasks_reads_their_executions_behind_the_locks_in_the_same_round_trip(
    store: PostgresStore,
) -> None:
    await insert(store, execution("e1"), execution("e2"))

    def queue(tx: Transaction) -> None:
        tx.enqueue_workflow_task("e1", 0)
        tx.enqueue_workflow_task("e2", 0)
        tx.arm_timer(TimerRow("e2", "workflow", 0, 1, 500))

    await store.run(queue)
    seen: list[tuple[str, int | None, bool]] = []

    def run_tasks(tx: Transaction) -> list[str]:
        ids = tx.claim_workflow_tasks(now_ms=5, owner="w1", lease_until_ms=1_000, workflows=[WF], limit=10)
        for execution_id in ids:
            row = tx.get_execution(execution_id)
            assert row is not None
            seen.append(
                (row.id, tx.workflow_deadline_ms(execution_id), tx.holds_workflow_task(execution_id, "w1", 1_000))
            )
            assert tx.finish_workflow_task(execution_id, "w1", 1_000)
            tx.append_events(execution_id, [(EventType.WORKFLOW_TASK_COMPLETED, "{}")], 5)
        return ids

    before = counts()
    ids = await store.run(run_tasks)
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

    # The claim and the read behind its locks, the writes with the notice
    assert (statements, round_trips) == (3, 2)
    assert sorted(ids) == ["e1", "e2"]
    assert sorted(seen) == [("e1", None, True), ("e2", 500, True)]
    assert await store.read(lambda tx: tx.has_ready_work(10_000, [WF], [ACT])) is False
    for execution_id in ("e1", "e2"):
        assert [e.seq for e in await history(store, execution_id)] == [1]


def starting(execution_id: str, *, new: bool) -> Callable[[Transaction], bool]:
    def transition(tx: Transaction) -> bool:
        created = tx.insert_execution(execution(execution_id), new=new)
        if created:
            tx.append_events(execution_id, [(EventType.WORKFLOW_STARTED, "{}")], 5)
            tx.enqueue_workflow_task(execution_id, 5)
        return created

    return transition


async def test_a_start_with_an_id_made_for_it_waits_only_for_its_commit(store: PostgresStore) -> None:
    before = counts()
    assert await store.run(starting("fresh", new=True)) is True
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))
    before = counts()
    assert await store.run(starting("given", new=False)) is True
    given_round_trips = counts()[1] - before[1]

    # The insert (not waited for), the writes with the notice
    assert (statements, round_trips) == (2, 1)
    assert given_round_trips == 2  # an id the caller gave may be taken: the insert says whether
    assert [e.seq for e in await history(store, "fresh")] == [1]
    stored = await store.read(lambda tx: tx.get_execution("fresh"))
    assert stored == dataclasses.replace(execution("fresh"), last_seq=1)


async def test_an_id_said_to_be_new_that_is_taken_fails_the_start_and_changes_nothing(store: PostgresStore) -> None:
    assert await store.run(starting("taken", new=False)) is True
    kept = await store.read(lambda tx: tx.get_execution("taken"))

    results = await in_one_batch(store, complete_nothing, starting("taken", new=True), starting("other", new=True))

    assert isinstance(results[1], StoreUnavailable)
    assert results[0] is None
    assert results[2] is True  # the others of its batch commit
    assert await store.read(lambda tx: tx.get_execution("taken")) == kept
    assert [e.seq for e in await history(store, "taken")] == [1]
    assert [e.seq for e in await history(store, "other")] == [1]


def complete_nothing(tx: Transaction) -> None:
    tx.wake("workflows")


def waiting_notice(execution_id: str, url: str) -> OutboxRow:
    return OutboxRow(
        delivery_id=f"d-{execution_id}-{url}", execution_id=execution_id, activity_id=1, attempt=1,
        event=notifications.WAITING, url=url, payload="{}", state="pending", tries=0, next_try_at_ms=1,
        last_error=None, created_at_ms=1, updated_at_ms=None,
    )  # fmt: skip


def close_reading_notices(execution_id: str) -> Callable[[Transaction], tuple[list[str], int]]:
    """A call by token's reads in a batch: the activity behind the batch's locks, then the URLs told it was waiting.

    With the statements that second read sent.
    """

    def transition(tx: Transaction) -> tuple[list[str], int]:
        assert isinstance(tx, PostgresTransaction)
        tx.lock_ahead([Touches(execution_id, 1)])  # as a batch of calls by token takes its locks
        assert tx.get_activity(execution_id, 1) is not None
        before = TRAFFIC.statements
        urls = tx.outbox_urls(execution_id, 1, notifications.WAITING)
        return urls, TRAFFIC.statements - before

    return transition


async def test_a_batch_closing_an_activity_reads_no_outbox_unless_its_waiting_was_announced(
    store: PostgresStore,
) -> None:
    for execution_id in ("quiet", "told", "told-now"):
        await insert(store, execution(execution_id))
        await store.run(functools.partial(lambda e, tx: tx.insert_activity(activity(e, 1)), execution_id))
    await store.run(
        lambda tx: tx.insert_outbox([waiting_notice("told", "http://b"), waiting_notice("told", "http://a")])
    )

    quiet = await store.run(close_reading_notices("quiet"))
    told = await store.run(close_reading_notices("told"))

    def announce_then_close(tx: Transaction) -> tuple[list[str], int]:
        assert isinstance(tx, PostgresTransaction)
        tx.lock_ahead([Touches("told-now", 1)])
        tx.insert_outbox([waiting_notice("told-now", "http://c")])  # announced by the same transaction
        return tx.outbox_urls("told-now", 1, notifications.WAITING), 0

    def alone(tx: Transaction) -> tuple[list[str], int]:
        assert tx.get_activity("quiet", 1) is not None  # locked and read on its own, without the notices
        before = TRAFFIC.statements
        return tx.outbox_urls("quiet", 1, notifications.WAITING), TRAFFIC.statements - before

    told_now = await store.run(announce_then_close)
    quiet_alone = await store.run(alone)

    assert quiet == ([], 0)  # whether it was announced came with the activity, behind the locks
    assert quiet_alone == ([], 1)
    assert told == (["http://a", "http://b"], 1)
    assert told_now[0] == ["http://c"]


def close_alone(execution_id: str) -> Callable[[Transaction], tuple[list[str], int]]:
    """A call by token's reads when its lock is taken alone: the activity with its lock, then the URLs told it waited.

    With the statements that second read sent.
    """

    def transition(tx: Transaction) -> tuple[list[str], int]:
        assert tx.get_activity(execution_id, 1) is not None
        before = TRAFFIC.statements
        return tx.outbox_urls(execution_id, 1, notifications.WAITING), TRAFFIC.statements - before

    return transition


async def test_a_lone_close_that_said_it_asks_reads_whether_the_waiting_was_announced_with_its_lock(
    store: PostgresStore,
) -> None:
    for execution_id in ("quiet", "told"):
        await insert(store, execution(execution_id))
        await store.run(functools.partial(lambda e, tx: tx.insert_activity(activity(e, 1)), execution_id))
    await store.run(
        lambda tx: tx.insert_outbox([waiting_notice("told", "http://b"), waiting_notice("told", "http://a")])
    )

    def asking(execution_id: str) -> Callable[[], Touches]:
        return lambda: Touches(execution_id, 1, reads_waiting_notice=True)

    before = counts()
    quiet = await store.run(close_alone("quiet"), touches=asking("quiet"))
    statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))
    told = await store.run(close_alone("told"), touches=asking("told"))
    unsaid = await store.run(close_alone("quiet"), touches=lambda: Touches("quiet", 1))
    other_activity = await store.run(
        close_alone("quiet"), touches=lambda: Touches("quiet", 2, reads_waiting_notice=True)
    )

    assert quiet == ([], 0)  # read with the activity behind its lock: no statement of its own
    assert (statements, round_trips) == (
        2,
        2,
    )  # the lock and the read behind it, then the Sync that ends the transaction
    assert told == (["http://a", "http://b"], 1)  # announced: the URLs are read
    assert unsaid == ([], 1)  # not said ahead: asked of the database, as before
    assert other_activity == ([], 1)  # said of another activity than the one read


async def test_a_lone_completion_by_token_is_two_round_trips(postgres_url: str) -> None:
    parked = [await test_concurrent_activity_tokens.parked(postgres_url) for _ in range(2)]
    clock = VirtualClock(max(p[3].now() for p in parked))
    opened = await PostgresStore.open(postgres_url)
    engine = Engine(opened, clock)
    try:
        await engine.heartbeat_activity(parked[0][1], '"first"')  # the signing keys are known from now on
        (execution_id, token, _, _) = parked[1]

        before = counts()
        assert await engine.complete_activity(token, '"approved"') is True
        statements, round_trips = (now - then for now, then in zip(counts(), before, strict=True))

        # The lock and the read behind it (the activity, and that its waiting was not announced: no outbox read);
        # then the activity's update, its timers' delete and the execution's writes, committed by their Sync.
        assert (statements, round_trips) == (5, 2)
        row = await opened.read(lambda tx: tx.get_activity(execution_id, 1))
        assert row is not None
        assert (row.state, row.result) == ("completed", '"approved"')
        assert [event.type for event in await history(opened, execution_id)][-1] == EventType.ACTIVITY_COMPLETED
    finally:
        await opened.close()
