"""The engine: async entry points that run one transition each against the store."""

from __future__ import annotations

import asyncio

from tether.engine import activities, api_keys, closing, queries, resume, runs, sigv4_secrets, tracing, workflows
from tether.engine.callback_calls import CallbackCalls
from tether.engine.lifecycle_calls import LifecycleCalls
from tether.engine.message_calls import MessageCalls
from tether.engine.notification_calls import NotificationCalls
from tether.engine.overdue import OverdueCalls
from tether.engine.published_calls import PublishedCalls
from tether.engine.schedule_calls import ScheduleCalls
from tether.engine.token_calls import TokenCalls, permit
from tether.engine.trace_calls import TraceCalls
from tether.engine.worker_calls import WorkerCalls
from tether.errors import ExecutionIdTaken
from tether.model.access import Access, Action
from tether.model.events import Event, failure
from tether.model.records import (
    ApiKeyInfo,
    HistoryEvent,
    WaitingActivity,
    WorkflowDescription,
    WorkflowStatus,
    WorkflowSummary,
)
from tether.model.tokens import TokenClaims
from tether.store.base import Touches, Transaction
from tether.store.rows import ExecutionRow


class Engine(
    LifecycleCalls,
    MessageCalls,
    PublishedCalls,
    TokenCalls,
    CallbackCalls,
    NotificationCalls,
    OverdueCalls,
    ScheduleCalls,
    WorkerCalls,
    TraceCalls,
):
    """Runs transitions for clients and workers over one store and one clock.

    Every public method is one transition (one transaction). The engine also owns the
    in-process wake-ups: workers park on :attr:`notifier` instead of polling. The calls
    workers make are in :class:`~tether.engine.worker_calls.WorkerCalls`, those that terminate,
    delete or hurry an execution along in :class:`~tether.engine.lifecycle_calls.LifecycleCalls`,
    those that send messages and requests in :class:`~tether.engine.message_calls.MessageCalls`,
    those that read published values in :class:`~tether.engine.published_calls.PublishedCalls`,
    those by token in :class:`~tether.engine.token_calls.TokenCalls`, those of callback URLs in
    :class:`~tether.engine.callback_calls.CallbackCalls`, those of notifications out and their sinks in
    :class:`~tether.engine.notification_calls.NotificationCalls`, those of schedules in
    :class:`~tether.engine.schedule_calls.ScheduleCalls`.
    """

    # executions

    async def start_workflow(
        self,
        execution_id: str,
        workflow: str,
        args: str,
        *,
        access: Access | None = None,
        timeout_ms: int | None = None,
        timeout_known: bool = False,
        priority: int = 0,
        trace: tracing.Carrier | None = None,
        new_id: bool = False,
    ) -> bool:
        """Start an execution; False if it existed already.

        ``timeout_known``: the caller knows the workflow's timeout, ``timeout_ms`` (None: no
        deadline); otherwise the first workflow task arms the definition's. ``priority`` orders
        its ready workflow tasks and activity attempts among others (higher first). ``trace``:
        the trace context the execution's spans belong to (see :mod:`tether.engine.tracing`).
        ``new_id``: the caller made ``execution_id`` just now, at random, and gave it to no one
        else, so it cannot be taken (a store then need not wait to learn whether it is).

        Raises:
            PermissionDenied: ``access`` may not start this workflow.
            ExecutionIdTaken: the id is taken by an execution of another workflow.
        """
        if access is not None:
            access.require(Action.START_WORKFLOWS, workflow)
        now = self.clock.now_ms()

        def start(tx: Transaction) -> bool:
            try:
                return workflows.start(
                    tx, execution_id, workflow, args, now, timeout_ms=timeout_ms, timeout_known=timeout_known,
                    priority=priority,
                    trace=trace,
                    new_id=new_id,
                )  # fmt: skip
            except ExecutionIdTaken as taken:
                if access is None or access.allows(Action.READ_WORKFLOWS, taken.workflow):
                    raise
                # The id is taken by an execution this caller may not see: say so, name nothing.
                raise ExecutionIdTaken(execution_id, requested=workflow) from None

        return await self._run(start)

    async def is_known_workflow(self, name: str) -> bool:
        """Whether a worker ever registered a workflow of this name with the store."""
        return await self.store.read(lambda tx: tx.is_known_workflow(name))

    async def cancel_workflow(self, execution_id: str, *, access: Access | None = None) -> None:
        """Request cancellation of an execution."""
        now = self.clock.now_ms()

        def cancel(tx: Transaction) -> None:
            closing.request_cancel(tx, runs.permitted(tx, execution_id, access, Action.WRITE_WORKFLOWS), now)

        await self._run(cancel)

    async def resume(self, execution_id: str, timeout_ms: int | None, *, access: Access | None = None) -> None:
        """Resume a failed, timed-out or terminated execution (see ``engine/resume``).

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not write to this execution.
            ExecutionNotResumable: its status is another; nothing changed.
        """
        now = self.clock.now_ms()

        def body(tx: Transaction) -> None:
            resume.resume(tx, runs.permitted(tx, execution_id, access, Action.WRITE_WORKFLOWS), now, timeout_ms)

        await self._run(body)

    async def get_execution(self, execution_id: str, *, access: Access | None = None) -> ExecutionRow:
        """The stored row of an execution's current run (its latest, when it continued as new).

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not read this execution.
        """
        return await self.store.read(
            lambda tx: runs.permitted(tx, execution_id, access, Action.READ_WORKFLOWS),
            touches=lambda: Touches(execution_id),
        )

    async def wait_for_close(
        self, execution_id: str, timeout: float | None = None, *, access: Access | None = None
    ) -> ExecutionRow:
        """Wait until an execution closes for good and return its last run's row.

        A run that continued as new is followed to the next: the wait ends when the chain's
        latest run closes otherwise. On timeout, the running run's row is returned.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    row = await self._wait_for_run(execution_id, access)
                    if row.status != WorkflowStatus.CONTINUED.value:
                        return row
        except TimeoutError:
            return await self.get_execution(execution_id, access=access)

    async def _wait_for_run(self, execution_id: str, access: Access | None) -> ExecutionRow:
        """The current run of an execution once it is closed (continued included)."""
        awaited = execution_id  # the run awaited: the first, unless the execution continued
        while True:
            # The waiter is set before the read: a close between the two is not missed.
            key = awaited
            waiter = self.notifier.close_waiter(key)
            try:
                row = await self.get_execution(execution_id, access=access)
                if row.status != WorkflowStatus.RUNNING.value:
                    return row
                if row.id != awaited:
                    awaited = row.id  # a later run: wait on it instead
                    continue
                # Counted as waiting only now, blocked on a run that is open (test environments
                # skip time for such callers: not for one still reading a run that closed).
                self.notifier.result_waiter_entered()
                try:
                    final = await waiter
                finally:
                    self.notifier.result_waiter_left()
                if final is not None:
                    return final
            finally:
                self.notifier.drop_close_waiter(key, waiter)

    async def load_events(self, execution_id: str) -> list[Event]:
        """The whole history of an execution, as the runtime replays it."""
        return await self.store.read(lambda tx: tx.load_events(execution_id))

    async def describe(
        self, execution_id: str, *, access: Access | None = None, run: int | None = None
    ) -> WorkflowDescription:
        """Describe an execution's current run (or its run number ``run``), as committed (read aside)."""
        run_number = run

        def describe(tx: Transaction) -> WorkflowDescription:
            run = runs.permitted(tx, execution_id, access, Action.READ_WORKFLOWS, run_number, exact=True)
            return queries.describe(tx, run.id)

        return await self.store.read_aside(describe)

    async def history(
        self, execution_id: str, *, access: Access | None = None, run: int | None = None
    ) -> list[HistoryEvent]:
        """Every event of an execution's current run (or of its run number ``run``), as committed.

        Read beside the transitions: a history of 20,000 events takes some 60 ms to read.
        """

        def history(tx: Transaction) -> list[HistoryEvent]:
            chosen = runs.permitted(tx, execution_id, access, Action.READ_WORKFLOWS, run, exact=True)
            return queries.history(tx, chosen.id)

        return await self.store.read_aside(history)

    async def list_workflows(
        self,
        *,
        status: str | None,
        workflow: str | None,
        limit: int,
        offset: int,
        access: Access | None = None,
        id_prefix: str | None = None,
    ) -> list[WorkflowSummary]:
        """A page of executions, newest first; only those of workflows ``access`` may read.

        Read beside the transitions (a deep page costs the store a scan): it shows what had committed.
        """
        patterns = access.patterns(Action.READ_WORKFLOWS) if access is not None else None
        rows = await self.store.read_aside(
            lambda tx: tx.list_executions(
                status=status, workflow=workflow, limit=limit, offset=offset, workflow_patterns=patterns,
                id_prefix=id_prefix,
            )
        )  # fmt: skip
        return [queries.summary(r) for r in rows]

    async def list_waiting_activities(
        self, *, inbox_only: bool, limit: int, offset: int, access: Access | None = None
    ) -> list[WaitingActivity]:
        """Activities waiting in their async state, longest first; only of workflows ``access`` may write to.

        Read beside the transitions (a deep page costs the store a scan): it shows what had committed.
        """
        patterns = access.patterns(Action.WRITE_ACTIVITIES) if access is not None else None
        rows = await self.store.read_aside(
            lambda tx: tx.waiting_activities(
                inbox_only=inbox_only, limit=limit, offset=offset, workflow_patterns=patterns
            )
        )
        return [queries.waiting(row, workflow, note) for row, workflow, note in rows]

    async def waiting_activity(
        self, execution_id: str, activity_id: int, *, access: Access | None = None
    ) -> WaitingActivity | None:
        """One activity as the inbox shows it, if it waits in its async state now.

        Raises:
            ExecutionNotFound: no execution has this id.
            PermissionDenied: ``access`` may not write to activities of this workflow.
        """

        def read(tx: Transaction) -> WaitingActivity | None:
            execution = permit(tx, execution_id, access, Action.WRITE_ACTIVITIES)
            row = tx.get_activity(execution_id, activity_id)
            if row is None or row.state != "async":
                return None
            return queries.waiting(row, execution.workflow, tx.inbox_note(execution_id, activity_id))

        return await self.store.read(read)

    async def complete_attempt(
        self, execution_id: str, activity_id: int, attempt: int, result: str, *, access: Access | None = None
    ) -> bool:
        """Complete an attempt named without its token (a person in the web UI): as ``complete_activity`` does.

        Raises:
            PermissionDenied: ``access`` may not write to activities of this workflow.
            StaleToken, ActivityAlreadyClosed, InvalidPayload: as for a completion by token.
        """
        now = self.clock.now_ms()
        claims = TokenClaims(execution_id=execution_id, activity_id=activity_id, attempt=attempt)

        def complete(tx: Transaction) -> bool:
            permit(tx, execution_id, access, Action.WRITE_ACTIVITIES)
            return activities.complete(tx, claims, result, now, check_type=True)

        return await self._run(complete)

    async def fail_attempt(
        self,
        execution_id: str,
        activity_id: int,
        attempt: int,
        *,
        error: str,
        message: str,
        non_retryable: bool,
        access: Access | None = None,
    ) -> bool:
        """Fail an attempt named without its token (a person in the web UI): as ``fail_activity`` does."""
        now = self.clock.now_ms()
        claims = TokenClaims(execution_id=execution_id, activity_id=activity_id, attempt=attempt)
        fault = failure(error, message, non_retryable=non_retryable)

        def fail(tx: Transaction) -> bool:
            permit(tx, execution_id, access, Action.WRITE_ACTIVITIES)
            return activities.fail(tx, claims, fault, now)

        return await self._run(fail)

    # API keys

    async def create_api_key(self, name: str, scopes: list[str]) -> tuple[ApiKeyInfo, str]:
        """Create an API key; returns it with its plain text, which nothing keeps.

        Raises:
            InvalidPayload: no scope, a malformed scope, or an empty name.
        """
        parsed = api_keys.parse_scopes(scopes)
        now = self.clock.now_ms()
        return await self.store.run(lambda tx: api_keys.create(tx, name, parsed, now))

    async def list_api_keys(self) -> list[ApiKeyInfo]:
        """Every API key, revoked ones included."""
        return await self.store.read(lambda tx: [api_keys.info(r) for r in tx.list_api_keys()])

    async def revoke_api_key(self, key: str) -> ApiKeyInfo:
        """Revoke an API key by id (or by name, if one active key has it).

        Raises:
            ApiKeyNotFound: no such active key.
        """
        now = self.clock.now_ms()
        return await self.store.run(lambda tx: api_keys.revoke(tx, key, now))

    async def give_sigv4_secret(self, key: str) -> tuple[ApiKeyInfo, str]:
        """Give an active API key (by id, or by name if one active key has it) a new SigV4 secret, for AWS SDKs.

        Returns the key and the secret, which nothing shows again; a secret it had stops working.

        Raises:
            ApiKeyNotFound: no such active key.
        """
        now = self.clock.now_ms()
        return await self.store.run(lambda tx: sigv4_secrets.give(tx, self._keys, key, now))

    async def sigv4_credentials(self, access_key_id: str) -> tuple[Access, str]:
        """What the API key ``access_key_id`` grants, and its SigV4 secret (see ``sigv4_secrets.credentials``).

        Raises:
            Unauthenticated: no such key, a revoked one, or one without a SigV4 secret.
        """
        now = self.clock.now_ms()
        return await self.store.read(lambda tx: sigv4_secrets.credentials(tx, self._keys, access_key_id, now))

    async def authenticate(self, presented: str | None, *, open_without_keys: bool) -> Access:
        """The access an API key grants (see ``api_keys.authenticate``).

        Raises:
            Unauthenticated: a key is needed and missing, or it is unknown or revoked.
        """
        # Keys are written by commands and other servers: the last committed state is exact
        # (a revocation anywhere holds at the next request), and the store reads it cheaply.
        return await self.store.read_committed(
            lambda reads: api_keys.authenticate(reads, presented, open_without_keys=open_without_keys)
        )

    async def has_api_keys(self) -> bool:
        """Whether any API key is active."""
        return await self.store.read(lambda tx: tx.has_active_api_keys())
