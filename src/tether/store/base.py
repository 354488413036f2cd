"""The Store and Transaction protocols the engine runs its transitions against.

The engine decides; the store executes. A transition is a plain function of a
:class:`Transaction`; the store runs it inside a transaction of its own (sharing one
commit with concurrent transitions) and rolls back just that function if it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import NamedTuple, Protocol, TypeVar, runtime_checkable

from tether.model.events import Event, EventType
from tether.store.feature_protocols import NotificationWrites, ScheduleWrites
from tether.store.rows import (
    ActivityRow,
    ActivityTaskRow,
    ApiKeyRow,
    ExecutionRow,
    LinkRow,
    MessageRow,
    PublishedRow,
    QueueGauges,
    TimerRow,
)

T = TypeVar("T")


class ApiKeyReads(Protocol):
    """The reads a request's authentication makes: all that :meth:`Store.read_committed` offers."""

    def get_api_key(self, key_id: str) -> ApiKeyRow | None: ...
    def has_active_api_keys(self) -> bool: ...


class Transaction(ApiKeyReads, NotificationWrites, ScheduleWrites, Protocol):
    """Narrow reads and writes used by engine transitions; all synchronous."""

    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope that is rolled back alone if its body raises."""
        ...

    def notify(self) -> None:
        """Mark that this transition changed something every worker loop should look at."""
        ...

    def wake(self, topic: str) -> None:
        """Mark that this transition changed something for one loop: workflows, activities or timers."""
        ...

    def closed(self, execution_id: str) -> None:
        """Mark that this transition closed an execution (wakes its result waiters)."""
        ...

    def closed_executions(self) -> set[str]:
        """Ids of the executions this transition closed so far."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the event loop once this transition has committed (never if it rolls back)."""
        ...

    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (on the store's thread) if this transition does not commit."""
        ...

    def take_enqueued(self) -> tuple[list[str], list[ActivityTaskRow]]:
        """Workflow tasks and activity tasks this transition queued so far (and forget them)."""
        ...

    def appended_from(self) -> dict[str, int]:
        """The executions this transition appended events to, each with the first sequence number it appended."""
        ...

    # executions and history
    def get_execution(self, execution_id: str) -> ExecutionRow | None: ...
    def insert_execution(self, row: ExecutionRow, *, new: bool = False) -> bool:
        """Insert a new execution; False (and nothing written) if its id is taken.

        ``new``: the id was made just now for this execution (a random one, never handed out
        before), so it cannot be taken: a store need not wait to learn whether it is. If it
        were taken after all, the transaction fails and changes nothing.
        """
        ...

    def update_execution(self, execution_id: str, **fields: object) -> None: ...
    def append_events(self, execution_id: str, events: Sequence[tuple[EventType, str]], at_ms: int) -> int:
        """Append events (type, JSON data) and return the last sequence number."""
        ...

    def load_events(self, execution_id: str, after_seq: int = 0) -> list[Event]: ...
    def expect_events(self, execution_id: str, after_seq: int) -> None:
        """A hint: this transition will likely load the execution's events after ``after_seq``.

        A store may read them along with the execution when it locks it (SQLite ignores it).
        """
        ...

    def first_event(self, execution_id: str) -> Event | None:
        """An execution's first event (its WorkflowStarted), without reading the rest of its history."""
        ...

    def events_of_type(self, execution_id: str, kind: EventType) -> list[Event]:
        """An execution's events of one type, in order, without reading the rest of its history."""
        ...

    def list_executions(
        self,
        *,
        status: str | None,
        workflow: str | None,
        limit: int,
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
        id_prefix: str | None = None,
    ) -> list[ExecutionRow]:
        """Executions, newest first.

        ``workflow_patterns`` (``*`` is their only wildcard) keeps those whose workflow name matches one;
        ``id_prefix`` those whose id starts with it.
        """
        ...

    def waiting_activities(
        self,
        *,
        inbox_only: bool,
        limit: int,
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
        workflow: str | None = None,
        name: str | None = None,
    ) -> list[tuple[ActivityRow, str, str | None]]:
        """Activities whose attempt went async, longest waiting first, with their workflow name and inbox note.

        ``inbox_only`` keeps those marked for a person (column ``inbox``); ``workflow_patterns`` as in
        listings; ``workflow`` those of executions of that workflow, ``name`` those of that activity name.
        """
        ...

    def overdue_activities(
        self,
        *,
        now_ms: int,
        default_cut_ms: int | None,
        horizon_ms: int | None,
        limit: int,
        offset: int,
        workflow_patterns: Sequence[str] | None = None,
        workflow: str | None = None,
        name: str | None = None,
    ) -> list[tuple[ActivityRow, str, int | None]]:
        """A page of the overdue activities waiting for their token (state async), longest waiting first.

        Overdue: waiting since ``now_ms`` minus the ``overdue_after_ms`` of its options or longer;
        declaring none, waiting since ``default_cut_ms`` or before (None: never); or with a
        deadline (total, attempt, heartbeat, its workflow's) at or before ``horizon_ms`` (None:
        no deadline counts). Each comes with its workflow name and its workflow's deadline.
        Filters as in :meth:`waiting_activities`. Each criterion reads its own index, for at most
        ``offset + limit`` rows.
        """
        ...

    def inbox_note(self, execution_id: str, activity_id: int) -> str | None:
        """What ``ctx.inbox`` asked the inbox to show for an activity, if anything."""
        ...

    def closed_among(self, execution_ids: Sequence[str]) -> list[str]:
        """Those of ``execution_ids`` whose execution exists and is no longer running."""
        ...

    def queue_gauges(self, now_ms: int) -> QueueGauges:
        """The depth of every queue at ``now_ms`` and who waits for a token, in one cheap query."""
        ...

    def executions_with_failed_task(self) -> list[str]:
        """Ids of running executions whose latest workflow task failed."""
        ...

    # links between executions: runs of one chain, parents and children
    def insert_link(self, row: LinkRow) -> None:
        """Record an execution's link (replacing the one it had, but for ``has_children``, which stays)."""
        ...

    def mark_parent(self, execution_id: str) -> None:
        """Record that a run started a child (creating its link if it had none)."""
        ...

    def get_link(self, execution_id: str) -> LinkRow | None: ...
    def latest_run_id(self, chain_id: str) -> str | None:
        """The id of the latest run of the chain whose first run is ``chain_id`` (None if it never continued)."""
        ...

    def children_of(self, parent_id: str) -> list[LinkRow]:
        """The executions a run started as its children, in the order it started them."""
        ...

    def delete_executions(self, execution_ids: Sequence[str]) -> None:
        """Remove these executions and every row they have.

        That is their history, activities (and their inbox notes), timers, published values,
        queued workflow and activity tasks, and their notifications that are not on their way
        (delivered, failed, or held for want of a sink): those still due are delivered
        first (see ``engine.notifications``). Ids with no execution are passed over.
        """
        ...

    def expired_executions(self, closed_before_ms: int, limit: int) -> list[str]:
        """Up to ``limit`` ids of executions that closed before ``closed_before_ms``, oldest close first.

        A chain's first run that continued as new is not one: its id names the chain, which
        goes on in later runs (those are deleted as they expire, the first with the last).
        """
        ...

    # messages and requests sent to executions
    def insert_message(self, row: MessageRow) -> int | None:
        """Store a message (its ``message_id`` is ignored) and return its id; None if its key was used in its chain."""
        ...

    def get_message(self, message_id: int) -> MessageRow | None: ...
    def message_by_key(self, chain_id: str, key: str) -> MessageRow | None: ...
    def messages_of(self, execution_id: str, *, unanswered: bool = False, limit: int | None = None) -> list[MessageRow]:
        """The messages and requests a run holds, in the order they were sent.

        ``unanswered`` keeps those the run is not done with: messages not taken yet, requests
        not answered yet. ``limit`` keeps the latest that many.
        """
        ...

    def update_message(self, message_id: int, *, state: str, at_ms: int, answer: str | None = None) -> None: ...
    def move_messages(self, message_ids: Sequence[int], execution_id: str) -> None:
        """Hand messages over to another run (the next of a chain) as pending."""
        ...

    def register_message_schemas(self, workflow: str, schemas: dict[str, str]) -> None:
        """Record the JSON Schemas a workflow declares for its message and request payloads, by name."""
        ...

    def message_schema(self, workflow: str, name: str) -> str | None:
        """The JSON Schema a registered workflow declares for payloads of this name, if any."""
        ...

    # published values
    def publish_value(self, execution_id: str, name: str, value: str, at_ms: int) -> None:
        """Store ``value`` (JSON text) as the execution's value ``name``: version 1, or one more than it was."""
        ...

    def published_value(self, execution_id: str, name: str) -> PublishedRow | None: ...
    def published_values(self, execution_id: str) -> list[PublishedRow]:
        """Every value the execution holds, by name."""
        ...

    def copy_published_values(self, from_id: str, to_id: str) -> None:
        """Give execution ``to_id`` the values of ``from_id``, with their versions (continue-as-new)."""
        ...

    # activities
    def get_activity(self, execution_id: str, activity_id: int) -> ActivityRow | None: ...
    def insert_activity(self, row: ActivityRow) -> None: ...
    def update_activity(self, execution_id: str, activity_id: int, **fields: object) -> None:
        """Set columns of an activity: those of ActivityRow, and ``worker``, ``inbox`` and ``inbox_note``."""
        ...

    def open_activities(self, execution_id: str) -> list[ActivityRow]: ...

    # timers
    def arm_timer(self, timer: TimerRow) -> None: ...
    def delete_timer(self, execution_id: str, kind: str, ref: int) -> None: ...
    def delete_activity_timers(self, execution_id: str, activity_id: int) -> None: ...
    def delete_execution_timers(self, execution_id: str) -> None: ...
    def timers_of(self, execution_id: str) -> list[TimerRow]: ...
    def workflow_deadline_ms(self, execution_id: str) -> int | None:
        """Due time of the execution's workflow deadline (its timer of kind ``workflow``), if armed."""
        ...

    def due_timers(self, now_ms: int, limit: int) -> list[TimerRow]: ...
    def next_timer_due_ms(self) -> int | None: ...

    # workflow tasks
    def enqueue_workflow_task(self, execution_id: str, ready_at_ms: int) -> None:
        """Offer the execution to workflow workers, if it is still running."""
        ...

    def claim_workflow_tasks(
        self, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str], limit: int
    ) -> list[str]: ...
    def claim_workflow_task(
        self, execution_id: str, *, now_ms: int, owner: str, lease_until_ms: int, workflows: Iterable[str]
    ) -> bool:
        """Lease one ready, unleased workflow task of one of ``workflows``."""
        ...

    def claim_activity_task(self, task: ActivityTaskRow) -> bool:
        """Take one queued attempt off the queue; False if it is no longer there."""
        ...

    def finish_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:
        """Drop or re-queue the task; False if the lease ``owner`` took until ``leased_until_ms`` is gone.

        A lease is the owner's claim that ends at that time: a task that ran out its lease
        and was claimed again, even by a worker of the same name, has another.
        """
        ...

    def holds_workflow_task(self, execution_id: str, owner: str, leased_until_ms: int) -> bool:
        """Whether ``owner``'s lease until ``leased_until_ms`` still holds the task (see ``finish_workflow_task``)."""
        ...

    def release_workflow_tasks(self, owner: str) -> None: ...
    def next_lease_expiry_ms(self, now_ms: int) -> int | None: ...
    def has_ready_work(self, now_ms: int, workflows: Iterable[str], activities: Iterable[str]) -> bool:
        """Whether a task of these workflow or activity names is ready for a worker."""
        ...

    # activity tasks
    def enqueue_activity_task(self, task: ActivityTaskRow) -> None: ...
    def delete_activity_task(self, execution_id: str, activity_id: int) -> None: ...
    def claim_activity_tasks(self, *, activities: Iterable[str], limit: int) -> list[ActivityTaskRow]:
        """Take up to ``limit`` queued attempts of these names: highest priority first, then oldest first."""
        ...

    # flow control across workers
    def lock_activity_limit(self, name: str) -> None:
        """Hold activity ``name``'s limiter until the transaction ends: claimers of it go one at a time.

        Everything read after this (attempts running, recent starts) is as the previous holder left it.
        """
        ...

    def running_attempts(self, name: str) -> int:
        """How many attempts of activity ``name`` are running (claimed, not yet returned, failed or async)."""
        ...

    def attempt_starts_since(self, name: str, since_ms: int) -> tuple[int, int | None]:
        """How many attempts of ``name`` started after ``since_ms``, and when the earliest of them did."""
        ...

    def record_attempt_starts(self, name: str, at_ms: int, count: int, forget_until_ms: int) -> None:
        """Note ``count`` starts of ``name`` at ``at_ms``; forget its starts at or before ``forget_until_ms``."""
        ...

    # worker liveness
    def renew_worker(self, owner: str, lease_until_ms: int) -> None:
        """Record that worker ``owner`` is alive until ``lease_until_ms``."""
        ...

    def remove_worker(self, owner: str) -> None: ...
    def attempts_of_lost_workers(self, now_ms: int, alive: str, limit: int) -> list[tuple[str, int, int]]:
        """Running attempts (execution, activity, attempt) whose worker's lease expired; ``alive`` is exempt."""
        ...

    def attempts_of_worker(self, owner: str) -> list[tuple[str, int, int]]:
        """Running attempts (execution, activity, attempt) started by worker ``owner``."""
        ...

    def next_worker_expiry_ms(self, now_ms: int, alive: str) -> int | None:
        """When the lease of a worker with running attempts (other than ``alive``) next expires."""
        ...

    # registry and keys
    def register_workflows(self, names: Iterable[str]) -> None: ...
    def is_known_workflow(self, name: str) -> bool: ...
    def signing_keys(self) -> dict[int, bytes]: ...
    def insert_signing_key(self, key_id: int, secret: bytes, created_at_ms: int) -> None: ...

    # API keys of the server
    def insert_api_key(self, row: ApiKeyRow) -> None: ...
    def list_api_keys(self) -> list[ApiKeyRow]:
        """Every key, revoked ones included, oldest first."""
        ...

    def revoke_api_key(self, key_id: str, at_ms: int) -> bool:
        """Mark a key revoked; False if no such key is active."""
        ...

    def set_api_key_sigv4(self, key_id: str, sealed: str) -> bool:
        """Give an active key its (sealed) SigV4 secret, replacing any; False if no such key is active."""
        ...


class Touches(NamedTuple):
    """The execution (and activity) a transition will lock and read first.

    Given ahead, a store that waits for its database on every lock may take the locks of
    a whole batch of transitions, and read what each needs behind them, in one round trip.
    """

    execution_id: str
    activity_id: int | None = None
    events_after: int | None = None
    """The events after this sequence number will likely be read too (None: none)."""
    reads_open_activities: bool = False
    """The transition will likely read the execution's open activities (it closes the execution)."""
    reads_waiting_notice: bool = False
    """The transition will likely close the activity after it went async or was retried, and so ask
    whether its waiting was announced (``outbox_urls`` of its waiting notices)."""


TouchesAhead = Callable[[], Touches | None]
"""Says, when called on the store's thread before a transition runs, what it will lock first (None: it cannot tell)."""


class Store(Protocol):
    """A durable store; chosen by URL."""

    url: str

    async def run(self, transition: Callable[[Transaction], T], *, touches: TouchesAhead | None = None) -> T:
        """Run a writing transition in its own (possibly shared) transaction and commit it.

        ``touches`` says, when called on the store's thread before the transition runs, what
        it will lock first (None: it cannot tell). A store may ignore it; a wrong guess costs
        only a lock held early, never a different outcome.
        """
        ...

    async def read(self, query: Callable[[Transaction], T], *, touches: TouchesAhead | None = None) -> T:
        """Run a read-only query.

        A read sees every transition submitted before it, even ones not yet committed when
        the read was asked for: the test environment's idle checks depend on that order.
        ``touches`` names the execution it reads, for a store to read those of a batch's
        reads together (the state when the batch begins, which is after they were asked for).
        """
        ...

    async def read_aside(self, query: Callable[[Transaction], T]) -> T:
        """Run a read of committed state beside the transitions: for listings and gauges, which may take long.

        Unlike :meth:`read`, it neither waits for the transitions submitted before it nor holds
        up any: a count of a million waiting activities or a deep page of executions delays no
        transition. It sees what had committed when it began, by this process or any other, as
        one snapshot; it must not write. A store that cannot read beside its transitions runs
        it as :meth:`read`.
        """
        ...

    async def read_committed(self, query: Callable[[ApiKeyReads], T]) -> T:
        """Run a read of API keys against the last committed state, by this process or any other.

        Unlike :meth:`read`, it need not wait for the transitions submitted before it: it is
        for rows that commands and other servers write (a key revoked or created elsewhere
        is seen by the very next call), so a store may answer it on the calling thread. Each
        statement of it reads the state committed when that statement began (a request's
        authentication reads one).
        """
        ...

    def set_listener(self, on_change: Callable[[set[str]], None]) -> None:
        """Call ``on_change`` on the event loop after each commit that notified.

        The set holds topics (``"workflows"``, ``"activities"``, ``"timers"``, or ``"*"`` for
        all) and the ids of executions that closed. Queued work that the transition did not
        take itself (see ``take_enqueued``) is reported under its topic.
        Commits by other processes are detected by the store and reported as ``"external"``
        with the topics they touched (``"*"`` when the store cannot tell): closed ids are then
        unknown and must be looked up.
        """
        ...

    async def close(self) -> None:
        """Finish pending work and release the database."""
        ...


@runtime_checkable
class ThreadedStore(Protocol):
    """A store that can also take transitions from threads other than the event loop's (optional).

    Worker threads that run sync activities use it to record an attempt's outcome
    without a trip through the event loop; without it they go through :meth:`Store.run`.
    """

    def run_in_thread(
        self,
        transition: Callable[[Transaction], T],
        done: Callable[[T | None, BaseException | None], None],
        *,
        touches: TouchesAhead | None = None,
    ) -> None:
        """Run a writing transition as :meth:`Store.run` does (``touches`` likewise), submitted from another thread.

        ``done(result, None)`` or ``done(None, error)`` is called once the transition has
        committed or failed, on whichever thread ran it (possibly the caller's, before this
        returns); it must be quick and must not block. Transitions keep their order with
        those submitted through :meth:`Store.run`. After-commit callbacks still run on the
        event loop.

        Raises:
            StoreUnavailable: the store is closed (``done`` is then not called).
        """
        ...
