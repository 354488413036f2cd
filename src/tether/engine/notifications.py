"""Notifications out: the outbox rows transitions write, the leases workers deliver them under, and sinks.

An activity that starts waiting for its token (its attempt went async) is announced to the
URLs its code named (``@tether.activity(notify=...)``, ``ctx.notify(...)``) and to every sink
registered to get every inbox item; once it closes, each URL told it was waiting is told how
it ended. Each notification is an ``outbox`` row written in the transition that caused it,
so none is lost and none is sent for a change that rolled back; workers deliver the rows
afterwards, at least once, under a lease (see ``worker/notifications``).

A URL with no registered sink gets its notifications ``held``: they carry activity tokens,
which are capabilities, and a receiver could not verify a signature made with a secret
nobody gave it. ``tether sinks add URL`` registers it and sends what was held.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tether.engine import deadlines
from tether.errors import SinkNotFound, UsageError
from tether.model import notifications
from tether.model.clock import from_ms
from tether.model.options import ActivityOptions, RetryPolicy
from tether.model.records import DeliveryInfo, SinkInfo
from tether.store.base import Transaction
from tether.store.rows import ActivityRow, OutboxRow, SinkRow

PENDING, RETRYING, DELIVERED, FAILED, HELD = "pending", "retrying", "delivered", "failed", "held"
NO_SINK = "no sink is registered for this URL; `tether sinks add URL` registers it and sends what waits"
DEFAULT_RETRY = RetryPolicy(max_attempts=30, initial_interval=timedelta(seconds=10), max_interval=timedelta(hours=1))
"""Tries of one notification: the first, then after 10 s, 20 s, ... up to an hour apart; about a day in all."""

Requested = Sequence[tuple[str, str | None]]
"""URLs an attempt asked to notify (``ctx.notify``), each with its data as JSON text (or None)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One try of one notification, leased to a worker: where it goes and what it sends."""

    delivery_id: str
    event: str
    url: str
    secret: str
    body: bytes
    """Exactly the bytes to send and sign."""
    try_number: int
    execution_id: str
    activity_id: int


@dataclass(frozen=True, slots=True)
class Signers:
    """What fills a waiting notification's tokens in, within the claim's transaction."""

    token: Callable[[str, int, int], str]
    """The attempt's token (execution, activity, attempt)."""
    activity_token: Callable[[str, int], str]
    callback_urls: Callable[[str, int, int], dict[str, str]] | None
    """Its complete and fail callback URLs; None without a public URL."""


# -- written by the transitions that cause them


def waiting(
    tx: Transaction,
    row: ActivityRow,
    options: ActivityOptions,
    requested: Requested,
    inbox_note: str | None,
    now_ms: int,
) -> None:
    """The attempt of ``row`` went async: announce it to its URLs and to the sinks that get every inbox item."""
    sinks = tx.active_sinks()
    targets: dict[str, str | None] = dict.fromkeys(options.notify)
    for url, data in requested:
        targets[url] = data
    for sink in sinks:
        if sink.every_inbox_item:
            targets.setdefault(sink.url, None)
    if not targets:
        return
    execution = tx.get_execution(row.execution_id)
    deadline_times = {
        "attempt": deadlines.attempt_deadline(row, options),
        "heartbeat": deadlines.heartbeat_deadline(row, options),
        "total": deadlines.total_deadline(row, options),
    }
    fields: dict[str, Any] = {
        "args": json.loads(row.args),
        "deadlines": {kind: None if due is None else _iso(due) for kind, due in deadline_times.items()},
        "result_schema": options.result_schema,
        "inbox": None if inbox_note is None else json.loads(inbox_note),
    }
    rows = []
    for url, data in targets.items():
        extra = {**fields, "data": None if data is None else json.loads(data)}
        rows.append(
            _row(tx, row, execution.workflow if execution else "", notifications.WAITING, url, extra, sinks, now_ms)
        )
    tx.insert_outbox(rows)


def closed(tx: Transaction, row: ActivityRow, state: str, data: str, now_ms: int) -> None:
    """The activity of ``row`` closed in ``state`` (its event's ``data``): tell each URL told it was waiting."""
    urls = tx.outbox_urls(row.execution_id, row.activity_id, notifications.WAITING)
    if not urls:
        return
    facts = json.loads(data)
    outcome = {"state": state, **{k: v for k, v in facts.items() if k not in ("activity_id", "attempt")}}
    execution = tx.get_execution(row.execution_id)
    workflow = execution.workflow if execution else ""
    sinks = tx.active_sinks()
    tx.insert_outbox(
        [_row(tx, row, workflow, notifications.CLOSED, url, {"outcome": outcome}, sinks, now_ms) for url in urls]
    )


def _row(
    tx: Transaction,
    row: ActivityRow,
    workflow: str,
    event: str,
    url: str,
    fields: dict[str, Any],
    sinks: list[SinkRow],
    now_ms: int,
) -> OutboxRow:
    delivery_id = notifications.new_delivery_id()
    payload = {
        "type": event,
        "id": delivery_id,
        "created_at": _iso(now_ms),
        "execution_id": row.execution_id,
        "workflow": workflow,
        "activity": row.name,
        "activity_id": row.activity_id,
        "attempt": row.attempt,
        **fields,
    }
    registered = any(sink.url == url for sink in sinks)
    return OutboxRow(
        delivery_id=delivery_id, execution_id=row.execution_id, activity_id=row.activity_id, attempt=row.attempt,
        event=event, url=url, payload=json.dumps(payload, separators=(",", ":")),
        state=PENDING if registered else HELD, tries=0, next_try_at_ms=now_ms if registered else None,
        last_error=None if registered else NO_SINK, created_at_ms=now_ms, updated_at_ms=None,
    )  # fmt: skip


def _iso(ms: int) -> str:
    return from_ms(ms).isoformat().replace("+00:00", "Z")


# -- delivered by workers


def claim(
    tx: Transaction,
    *,
    owner: str,
    now_ms: int,
    lease_ms: int,
    limit: int,
    exclude_urls: Sequence[str],
    signers: Signers,
) -> list[Delivery]:
    """Lease due notifications to ``owner`` and make their bodies; those whose sink is gone are held."""
    rows = tx.claim_outbox(
        now_ms=now_ms, owner=owner, lease_until_ms=now_ms + lease_ms, limit=limit, exclude_urls=exclude_urls
    )
    if not rows:
        return []
    secrets = {sink.url: sink.secret for sink in tx.active_sinks()}
    deliveries = []
    for row in rows:
        secret = secrets.get(row.url)
        if secret is None:  # its sink was removed since: held until one is registered again
            tx.update_outbox(
                row.delivery_id, state=HELD, next_try_at_ms=None, last_error=NO_SINK, updated_at_ms=now_ms,
                owner=None, leased_until_ms=0,
            )  # fmt: skip
            continue
        deliveries.append(
            Delivery(
                row.delivery_id,
                row.event,
                row.url,
                secret,
                _body(row, signers),
                row.tries + 1,
                row.execution_id,
                row.activity_id,
            )
        )
    return deliveries


def _body(row: OutboxRow, signers: Signers) -> bytes:
    if row.event != notifications.WAITING:
        return row.payload.encode()
    payload = json.loads(row.payload)
    payload["token"] = signers.token(row.execution_id, row.activity_id, row.attempt)
    payload["activity_token"] = signers.activity_token(row.execution_id, row.activity_id)
    if signers.callback_urls is not None:
        payload["callback_urls"] = signers.callback_urls(row.execution_id, row.activity_id, row.attempt)
    return json.dumps(payload, separators=(",", ":")).encode()


def record(
    tx: Transaction, delivery_id: str, owner: str, error: str | None, now_ms: int, policy: RetryPolicy
) -> str | None:
    """Record how a try went (``error`` None: delivered); returns the new state, None if the lease was lost.

    A failed try is retried by ``policy`` (its back-off from now); past its attempts the
    notification is failed. One whose execution was deleted meanwhile goes once it is done.
    """
    row = tx.get_outbox(delivery_id)
    if row is None or row.owner != owner or row.state not in (PENDING, RETRYING):
        return None  # another worker took it over after this one's lease ran out
    tries = row.tries + 1
    done = error is None or (policy.max_attempts != 0 and tries >= policy.max_attempts)
    if done and tx.get_execution(row.execution_id) is None:
        tx.delete_outbox(delivery_id)
        return DELIVERED if error is None else FAILED
    if error is None:
        state, next_try = DELIVERED, None
    elif done:
        state, next_try = FAILED, None
    else:
        state, next_try = RETRYING, now_ms + policy.interval_ms(tries)
    tx.update_outbox(
        delivery_id, state=state, tries=tries, next_try_at_ms=next_try, last_error=error, updated_at_ms=now_ms,
        owner=None, leased_until_ms=0,
    )  # fmt: skip
    return state


def info(row: OutboxRow) -> DeliveryInfo:
    """A notification as the web UI and the CLI show it."""
    return DeliveryInfo(
        delivery_id=row.delivery_id, event=row.event, activity_id=row.activity_id, attempt=row.attempt, url=row.url,
        state=row.state, tries=row.tries,
        next_try_at=None if row.next_try_at_ms is None or row.state not in (PENDING, RETRYING)
        else from_ms(row.next_try_at_ms),
        last_error=row.last_error, created_at=from_ms(row.created_at_ms),
        updated_at=None if row.updated_at_ms is None else from_ms(row.updated_at_ms),
    )  # fmt: skip


# -- sinks, managed by operators


def sink_info(row: SinkRow) -> SinkInfo:
    """A sink as listed (never its secret)."""
    return SinkInfo(
        row.sink_id,
        row.url,
        row.every_inbox_item,
        from_ms(row.created_at_ms),
        None if row.disabled_at_ms is None else from_ms(row.disabled_at_ms),
    )


def add_sink(tx: Transaction, url: str, every_inbox_item: bool, now_ms: int) -> tuple[SinkInfo, str, int]:
    """Register a sink for ``url`` with a fresh secret; returns it, the secret and how many held notifications it freed.

    Raises:
        UsageError: the URL is not an absolute http(s) URL, or a sink is registered for it already.
    """
    checked = notifications.check_url(url)
    for sink in tx.active_sinks():
        if sink.url == checked:
            raise UsageError(
                f"a sink is registered for {checked} already ({sink.sink_id}); "
                "`tether sinks rotate` gives it a new secret, `tether sinks remove` removes it"
            )
    row = SinkRow(notifications.new_sink_id(), checked, notifications.new_secret(), every_inbox_item, now_ms, None)
    tx.insert_sink(row)
    released = tx.release_held_outbox(checked, now_ms)
    return sink_info(row), row.secret, released


def find_sink(tx: Transaction, sink: str) -> SinkRow:
    """The active sink of this id or URL.

    Raises:
        SinkNotFound: none.
    """
    for row in tx.active_sinks():
        if sink in (row.sink_id, row.url, row.url.rstrip("/")):
            return row
    raise SinkNotFound(sink)


def remove_sink(tx: Transaction, sink: str, now_ms: int) -> SinkInfo:
    """Disable a sink: its URL's notifications are held from now on.

    Raises:
        SinkNotFound: no active sink has this id or URL.
    """
    row = find_sink(tx, sink)
    tx.update_sink(row.sink_id, disabled_at_ms=now_ms)
    return sink_info(SinkRow(row.sink_id, row.url, row.secret, row.every_inbox_item, row.created_at_ms, now_ms))


def rotate_sink(tx: Transaction, sink: str) -> tuple[SinkInfo, str]:
    """Give a sink a new secret, which signs every notification sent from now on; returns it.

    Raises:
        SinkNotFound: no active sink has this id or URL.
    """
    row = find_sink(tx, sink)
    secret = notifications.new_secret()
    tx.update_sink(row.sink_id, secret=secret)
    return sink_info(row), secret
