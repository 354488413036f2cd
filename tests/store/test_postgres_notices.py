"""Which PostgreSQL commits tell other processes: those that give them work or close executions, no others.

A listening connection receives notices in commit order, so a commit that sent one would
show before the notice of the commit made after it: no waiting for something not to come.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from tether.model.events import EventType
from tether.store.base import Transaction
from tether.store.postgres.listener import CHANNEL
from tether.store.postgres.store import PostgresStore

from .test_store_contract import activity, closing, enqueue, execution, insert, insert_activity

pytestmark = pytest.mark.postgres

WAIT_S = 30.0


@pytest.fixture
def listening(postgres_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        yield conn


def notices(conn: psycopg.Connection[tuple[object, ...]], count: int) -> list[list[str]]:
    """The topics of at least the next ``count`` notices the connection receives (senders left out).

    Notices that arrived together are all returned, even beyond ``count``.
    """
    received = [notice.payload.split(" ")[1:] for notice in conn.notifies(timeout=WAIT_S, stop_after=count)]
    assert len(received) >= count, f"{count} notices awaited, {len(received)} came"
    return received


def heartbeat(tx: Transaction) -> None:
    assert tx.get_activity("e1", 1) is not None
    tx.update_activity("e1", 1, last_heartbeat_at_ms=7, heartbeat_details='"half"')


@pytest.mark.parametrize(
    "quiet",
    [
        pytest.param(heartbeat, id="a heartbeat"),
        pytest.param(
            lambda tx: tx.append_events("e1", [(EventType.ACTIVITY_ATTEMPT_STARTED, "{}")], 5), id="a record of history"
        ),
        pytest.param(lambda tx: tx.insert_activity(activity("e1", 2)), id="a row nobody waits for"),
    ],
)
async def test_a_commit_that_gives_no_work_and_closes_nothing_sends_no_notice(
    postgres_store: PostgresStore,
    listening: psycopg.Connection[tuple[object, ...]],
    quiet: Callable[[Transaction], None],
) -> None:
    await insert(postgres_store, execution("e1"))  # neither gives work: no notice either
    await insert_activity(postgres_store, activity("e1", 1))

    await postgres_store.run(quiet)
    await enqueue(postgres_store, "e1")

    assert notices(listening, 1) == [["workflows"]]
    assert (await postgres_store.read(lambda tx: tx.get_activity("e1", 1))) is not None


async def test_a_commit_that_closes_an_execution_or_gives_work_still_tells_other_processes(
    postgres_store: PostgresStore, listening: psycopg.Connection[tuple[object, ...]]
) -> None:
    await insert(postgres_store, execution("e1"))
    await postgres_store.run(closing("e1", notify=False))
    await enqueue(postgres_store, "e1")

    assert notices(listening, 2) == [["closed"], ["workflows"]]
