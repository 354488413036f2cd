"""The rows a :class:`~tether.store.base.Transaction` reads and writes: plain records, one per table's row.

They carry no behaviour beyond reading a store's own query results; both stores build and
take them, and the engine reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ExecutionRow:
    """One workflow execution."""

    id: str
    workflow: str
    status: str
    input: str
    result: str | None
    error: str | None
    created_at_ms: int
    closed_at_ms: int | None
    cancel_requested: bool
    task_error: str | None
    last_seq: int
    priority: int = 0
    """Orders its ready workflow tasks (higher first), and its activities' attempts unless a call sets its own."""


@dataclass(slots=True)
class ActivityRow:
    """One scheduled activity and its current attempt."""

    execution_id: str
    activity_id: int
    name: str
    state: str
    attempt: int
    args: str
    options: str
    scheduled_at_ms: int
    attempt_started_at_ms: int | None
    last_heartbeat_at_ms: int | None
    heartbeat_details: str | None
    checkpoint: str | None
    last_failure: str | None
    cancel_requested: bool
    watch_heartbeats: bool
    result: str | None
    closed_at_ms: int | None


@dataclass(frozen=True, slots=True)
class TimerRow:
    """A durable timer: a user sleep, or an activity's deadline or retry time."""

    execution_id: str
    kind: str
    ref: int
    attempt: int
    due_at_ms: int


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """One API key of the server; only a hash of its secret is kept."""

    key_id: str
    name: str
    secret_hash: str
    scopes: str
    """The granted scopes, as a JSON list of strings."""
    created_at_ms: int
    revoked_at_ms: int | None
    sigv4_secret: str | None = None
    """The key's SigV4 secret, sealed (see ``engine.sigv4_secrets``); None until one is given."""


@dataclass(frozen=True, slots=True)
class LinkRow:
    """How an execution is tied to others: the run of a chain it is, and the parent that started it.

    Only executions that have a link have a row: the runs after the first of a continued
    execution, and child workflows. An execution without one is its chain's first run and
    has no parent.
    """

    id: str
    chain_id: str | None
    """The id of the chain's first run (the id clients name), for runs after the first."""
    run: int
    parent_id: str | None
    """The run of the parent workflow that started this execution as a child."""
    parent_ref: int | None
    """The parent's reference of the child (its place among the parent's commands)."""
    parent_close: str | None
    """What the parent's close does to this child while it runs: "cancel" or "abandon"."""
    has_children: bool = False
    """Whether this run started a child: only then does its close look for children."""


@dataclass(frozen=True, slots=True)
class MessageRow:
    """A message or request sent to an execution, and where it stands."""

    message_id: int
    """Unique in the store and never reused: histories name messages by it."""
    execution_id: str
    """The run that holds it: the one it was sent to, or a later run it moved to while pending."""
    chain_id: str
    """The id clients name (the chain's first run): keys are unique per chain."""
    kind: str
    """``message`` or ``request``."""
    name: str
    payload: str
    """The payload as JSON text."""
    key: str | None
    state: str
    """``pending`` (not taken yet), ``received`` (taken by the workflow), ``replied`` or ``rejected``."""
    answer: str | None
    """A request's reply (JSON text) or its rejection's reason (JSON text of a string)."""
    sent_at_ms: int
    updated_at_ms: int | None


@dataclass(frozen=True, slots=True)
class PublishedRow:
    """The last value an execution published under one name."""

    name: str
    value: str
    """JSON text."""
    version: int
    """How many times the name was published (counting on across continue-as-new)."""
    published_at_ms: int


@dataclass(frozen=True, slots=True)
class SinkRow:
    """A registered notification sink: where notifications go, and the secret that signs them."""

    sink_id: str
    url: str
    secret: str
    every_inbox_item: bool
    """Whether it is told of every activity that starts waiting for its token, whatever the code asked."""
    created_at_ms: int
    disabled_at_ms: int | None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One notification to deliver (at least once) to one URL, and where its delivery stands."""

    delivery_id: str
    """Unique, the same across retries: receivers deduplicate by it."""
    execution_id: str
    activity_id: int
    attempt: int
    event: str
    """``activity.waiting`` or ``activity.closed``."""
    url: str
    payload: str
    """The body's JSON text as the transition wrote it (a waiting one gets its tokens when sent)."""
    state: str
    """``pending``, ``retrying``, ``delivered``, ``failed`` or ``held`` (no sink is registered for the URL)."""
    tries: int
    next_try_at_ms: int | None
    """When it is due (pending or retrying); None otherwise."""
    last_error: str | None
    created_at_ms: int
    updated_at_ms: int | None
    """When its state last changed (delivered, failed, or its last try)."""
    owner: str | None = None
    """The worker that leased it for a try, until ``leased_until_ms``."""
    leased_until_ms: int = 0


@dataclass(frozen=True, slots=True)
class ActivityTaskRow:
    """An attempt waiting for a worker."""

    execution_id: str
    activity_id: int
    attempt: int
    name: str
    priority: int = 0
    """Claimed before attempts of lower priority; first queued first within one."""


@dataclass(frozen=True, slots=True)
class QueueGauges:
    """How much work stands in the store now: what metrics show of its queues at each scrape."""

    ready_workflow_tasks: int
    """Workflow tasks due and not leased."""
    ready_attempts: int
    """Activity attempts queued for a worker."""
    due_timers: int
    """Timers whose time came and that have not fired yet."""
    waiting: dict[str, tuple[int, int]]
    """Activities waiting for a token, by activity name: how many, and when the oldest began its attempt (ms)."""

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]]) -> QueueGauges:
        """Read the rows of a store's gauge query: (what, activity name, count, oldest start)."""
        counts = {"workflow_tasks": 0, "attempts": 0, "timers": 0}
        waiting: dict[str, tuple[int, int]] = {}
        for what, name, count, oldest in rows:
            if what == "waiting":
                waiting[name] = (int(count), int(oldest or 0))
            else:
                counts[what] = int(count)
        return cls(counts["workflow_tasks"], counts["attempts"], counts["timers"], waiting)
