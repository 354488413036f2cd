"""TestEnvironment: a worker, a client and a virtual clock over a fresh database."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from tether.client.client import Client
from tether.engine.engine import Engine
from tether.errors import UsageError
from tether.model import callback_tokens, extras
from tether.model.clock import VirtualClock, duration_ms
from tether.model.codecs import PayloadCodec
from tether.model.payloads import JSONValue
from tether.runtime.definitions import Activity, Workflow
from tether.testing import _callbacks
from tether.worker import history_limits
from tether.worker.worker import Worker

if TYPE_CHECKING:
    from tether.service import server as service_server

Transport = Literal["embedded", "http"]
TRANSPORT_VARIABLE = "TETHER_TEST_TRANSPORT"
TEST_DB_VARIABLE = "TETHER_TEST_DB"
"""Set to a PostgreSQL URL to run environments that name no database on that server."""


class TestEnvironment:
    """Runs workflows against a real database with time under the test's control.

    Time skips ahead by itself while a caller awaits ``handle.result()`` and the worker is
    idle: the clock jumps to the next due timer (a sleep, a deadline, a retry), so a
    day-long timeout is tested in milliseconds. ``advance`` moves time explicitly, stopping
    at every timer due on the way until the worker has handled it, without waiting for
    activity code that runs; ``restart`` drops the worker and store as a crash would and
    opens them again.

    With ``transport="http"`` the environment also serves the tether HTTP API on a loopback
    port and ``client`` talks to it, as a service without database access would; the worker
    still runs on the store. The default comes from the ``TETHER_TEST_TRANSPORT`` environment
    variable (``embedded`` if unset), so a whole suite can be re-run over HTTP.

    By default the database is a fresh SQLite file in a temporary directory. When the
    ``TETHER_TEST_DB`` environment variable holds a PostgreSQL URL
    (``postgresql://user@host:5432/postgres``: any database of that server the user may
    connect to), each environment instead creates a fresh database of its own on that
    server and drops it on exit, so that a whole suite can be re-run on PostgreSQL.

    Args:
        path: the SQLite file to run on (kept afterwards).
        url: the store to run on (``sqlite:///...`` or ``postgresql://...``), used as it is
            and kept afterwards; give ``path`` or ``url``, not both.
        start: the virtual clock's starting time.
        max_cached_workflows: passed to the Worker (0 replays every workflow task).
        transport: ``"embedded"`` or ``"http"``.
        history_warning: passed to the Worker: events in a run past which it logs a warning.
        history_limit: passed to the Worker: events in a run past which its workflow tasks fail
            with HistoryTooLarge.
        retention: passed to the Worker: closed executions older than this are deleted as
            the virtual clock passes (default: kept forever).
        public_url: the base of the callback URLs activities make (``tether.context().callback_url()``).
            By default, with ``transport="http"``, the environment's own server, so that any HTTP
            client can POST to them; otherwise ``http://tether.test``, a placeholder that
            :meth:`post_callback` (which works with both transports) delivers.
        codec: the payload codec of the client and the worker (``Client.connect(codec=)``);
            the environment's server, with ``transport="http"``, does not hold it.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        workflows: Sequence[Workflow[..., Any]] = (),
        activities: Sequence[Activity[..., Any]] = (),
        path: str | Path | None = None,
        url: str | None = None,
        start: datetime | None = None,
        max_cached_workflows: int = 2000,
        max_concurrent_activities: int = 100,
        transport: Transport | None = None,
        history_warning: int | None = history_limits.DEFAULT_WARNING,
        history_limit: int | None = history_limits.DEFAULT_LIMIT,
        retention: timedelta | None = None,
        public_url: str | None = None,
        codec: PayloadCodec | None = None,
    ) -> None:
        chosen = transport or os.environ.get(TRANSPORT_VARIABLE) or "embedded"
        if chosen not in ("embedded", "http"):
            raise UsageError(f"transport must be 'embedded' or 'http', not {chosen!r}")
        self.transport: Transport = "http" if chosen == "http" else "embedded"
        self._workflows = list(workflows)
        self._activities = list(activities)
        if path is not None and url is not None:
            raise UsageError("give TestEnvironment a path or a url, not both")
        self._given_path = Path(path) if path is not None else None
        self._given_url = url
        self._created_url: str | None = None
        self._database_server: str | None = None
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        self._server_url: str | None = None
        self._public_url = None if public_url is None else callback_tokens.public_base(public_url)
        self.clock = VirtualClock(start)
        self._codec = codec
        self._worker_options: dict[str, Any] = {
            "max_cached_workflows": max_cached_workflows,
            "max_concurrent_activities": max_concurrent_activities,
            "history_warning": history_warning,
            "history_limit": history_limit,
            "retention": retention,
        }
        self._client: Client | None = None
        self._local: Client | None = None
        self._server: service_server.Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._app: Any = None
        self._worker: Worker | None = None
        self._skipper: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None

    @property
    def path(self) -> Path:
        """The SQLite file the environment runs on.

        Raises:
            UsageError: the environment runs on PostgreSQL.
        """
        if self._given_path is not None:
            return self._given_path
        if self._given_url is not None or self._database_server is not None:
            raise UsageError(f"this environment runs on {self.url.split(':', 1)[0]}, not on a SQLite file; see url")
        assert self._tempdir is not None
        return Path(self._tempdir.name) / "tether.db"

    @property
    def url(self) -> str:
        """The store URL, for clients in other processes."""
        if self._given_url is not None:
            return self._given_url
        if self._created_url is not None:
            return self._created_url
        return f"sqlite:///{self.path}"

    @property
    def client(self) -> Client:
        """The client (over HTTP with ``transport="http"``); the same object across restarts."""
        assert self._client is not None, "use TestEnvironment with async with"
        return self._client

    @property
    def engine(self) -> Engine:
        """The engine the worker runs on (a new one after each restart)."""
        assert self._local is not None, "use TestEnvironment with async with"
        return self._local.engine

    @property
    def server_url(self) -> str | None:
        """The URL of the HTTP API with ``transport="http"``, else None."""
        return self._server_url

    @property
    def worker(self) -> Worker:
        """The running worker (a new one after each restart)."""
        assert self._worker is not None, "use TestEnvironment with async with"
        return self._worker

    async def __aenter__(self) -> TestEnvironment:
        if self._given_path is None and self._given_url is None:
            server = os.environ.get(TEST_DB_VARIABLE, "")
            if server.startswith(("postgresql:", "postgres:")):
                with extras.required(extras.POSTGRES, "psycopg"):
                    from tether.store.postgres import admin as postgres_admin  # SQLite users never import psycopg

                self._created_url = await asyncio.to_thread(postgres_admin.create_database, server)
                self._database_server = server
            else:
                self._tempdir = tempfile.TemporaryDirectory(prefix="tether-test-")
        try:
            self._local = await Client.connect(self.url, clock=self.clock, codec=self._codec)
        except BaseException:
            await self._drop_database()
            raise
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        if self.transport == "http":
            self._client = await self._serve(self._group)
        else:
            self._client = self._local
        await self._start_worker()
        self._skipper = self._group.create_task(self._skip_time())
        return self

    async def _serve(self, group: asyncio.TaskGroup) -> Client:
        # Imported here: the server's web framework is not needed by environments without it.
        with extras.required(extras.SERVER, *extras.SERVER_PACKAGES):
            from tether.service import app as service_app
            from tether.service import server as service_server
            from tether.service.auth import StoreKeys

        engine = self.engine
        self._app = service_app.create_app(engine, StoreKeys(engine, open_without_keys=True))
        sock = service_server.bind("127.0.0.1", 0)
        self._server = service_server.Server(self._app, graceful_shutdown=1)
        self._serving = group.create_task(self._server.serve_on(sock))
        self._server_url = f"http://127.0.0.1:{service_server.port_of(sock)}"
        return await Client.connect(self._server_url, codec=self._codec)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # The body's own exception propagates as it is (not wrapped in a group), and the
        # worker, store and temporary files are released whatever happened.
        try:
            if self._skipper is not None:
                self._skipper.cancel()
            if self._client is not None and self._client is not self._local:
                await self._client.close()
            if self._server is not None:
                self._server.stop()
            if self._group is not None:
                await self._group.__aexit__(None, None, None)
        finally:
            try:
                if self._worker is not None:
                    await self._worker.__aexit__(None, None, None)
            finally:
                try:
                    if self._local is not None:
                        await self._local.close()
                finally:
                    await self._drop_database()

    async def _drop_database(self) -> None:
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None
        if self._created_url is not None and self._database_server is not None:
            from tether.store.postgres import admin as postgres_admin  # SQLite users never import psycopg

            url, self._created_url = self._created_url, None
            await asyncio.to_thread(postgres_admin.drop_database, url, server_url=self._database_server, wait=False)

    async def _start_worker(self) -> None:
        assert self._local is not None
        public_url = self._public_url or self._server_url or _callbacks.PLACEHOLDER_BASE
        self._worker = Worker(
            self._local, workflows=self._workflows, activities=self._activities, public_url=public_url,
            **self._worker_options,
        )  # fmt: skip
        await self._worker.__aenter__()

    async def post_callback(self, url: str, body: JSONValue = None) -> bool:
        """POST ``body`` to a callback URL an activity made, as the third party it was given to would.

        ``body`` is the result for a complete URL (a pydantic model, a dataclass or any JSON
        value), ``{"error": ..., "message": ..., "details": ..., "non_retryable": ...}`` for a
        fail URL. With ``transport="http"`` it goes over HTTP to the environment's server
        (whatever host the URL names); otherwise to the engine, as the server would pass it on.
        Returns whether it was recorded (False: the same call was recorded before).

        Raises:
            InvalidToken: the URL is altered, or not a callback URL.
            CallbackExpired: the URL's expiry passed (on the virtual clock).
            StaleToken, ActivityAlreadyClosed, InvalidPayload: as for the same call by token.
        """
        return await _callbacks.post(self.engine, self._server_url, url, body)

    async def add_sink(self, url: str, *, every_inbox_item: bool = False) -> str:
        """Register a notification sink for ``url`` and return its signing secret, as ``tether sinks add`` does.

        Notifications to ``url`` (``@tether.activity(notify=...)``, ``ctx.notify``, or every
        activity that starts waiting, with ``every_inbox_item``) are then POSTed to it by the
        environment's worker; a receiver checks them with ``tether.verify_notification(body,
        header, secret)``. Their retries fall due on the virtual clock.

        Raises:
            UsageError: not an absolute http(s) URL, or a sink is registered for it already.
        """
        _, secret, _ = await self.engine.add_sink(url, every_inbox_item=every_inbox_item)
        return secret

    async def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward by ``delta`` (a timedelta or seconds) as time would pass.

        Every timer that falls due within ``delta`` (a sleep, a heartbeat, attempt or total
        deadline, a retry's back-off) fires at its own due time, in order: the clock stops
        there until the worker has handled what fell due (workflow tasks run, attempts
        started, outcomes recorded), so what that schedules in turn fires on time too. It
        returns at ``now + delta`` once everything due by then has been handled.

        It never waits for activity code that is running in the worker: an attempt that
        hangs is left running (and timed out when its deadline comes). To let running
        attempts finish first, ``await wait_for_idle()`` before advancing.
        """
        target = self.clock.now_ms() + duration_ms(delta)
        while True:
            await self._settle(attempts=False)
            # Timers in the store, and the deadlines of attempts the worker runs (it learns of their timeouts then).
            dues = [await self.engine.next_wakeup_ms(self.worker.identity), self.worker.next_deadline_ms()]
            due = min((d for d in dues if d is not None), default=None)
            if due is None or due > target:
                break
            self.clock.advance_to(due)
        self.clock.advance_to(target)
        await self._settle(attempts=False)

    async def wait_for_idle(self) -> None:
        """Wait until the worker has nothing left to do at the current time, running attempts included."""
        await self._settle(attempts=True)

    async def _settle(self, *, attempts: bool) -> None:
        """Wait until the worker has handled everything due now (and, with ``attempts``, every attempt ended)."""
        while True:
            worker = self.worker
            await worker.wait_for_idle(attempts=attempts)
            engine = self.engine
            version = engine.notifier.version
            # Queued attempts count only while the worker could start one.
            activities = worker.startable_activities()
            busy = await engine.has_ready_work(worker.workflow_names, activities)
            if not busy and worker.is_idle(attempts=attempts) and engine.notifier.version == version:
                return
            await asyncio.sleep(0)

    async def restart(
        self,
        *,
        workflows: Sequence[Workflow[..., Any]] | None = None,
        activities: Sequence[Activity[..., Any]] | None = None,
    ) -> None:
        """Crash the worker and store mid-flight and open them again over the same file.

        Nothing is released or reported: attempts that were running are left to their
        heartbeat or attempt timeouts, workflow-task leases to expire. The client object
        stays the same, so handles taken before the restart keep working.

        Given ``workflows`` or ``activities``, the new worker runs those instead, as a deploy
        of new code would: a new version of a workflow registered under the same name
        replays the executions the old one left (its cache starts empty).
        """
        if workflows is not None:
            self._workflows = list(workflows)
        if activities is not None:
            self._activities = list(activities)
        if self._skipper is not None:
            # The skipper may be waiting on the old worker; it starts again with the new one.
            self._skipper.cancel()
        await self.worker.crash()
        assert self._local is not None
        old = self._local._transport
        await old.close()
        fresh = await Client.connect(self.url, clock=self.clock, codec=self._codec)
        self._local._transport = fresh._transport
        if self._app is not None:
            from tether.service import state as service_state
            from tether.service.auth import StoreKeys

            # The server stays up, as a separate server process would; it now reaches the reopened store.
            service_state.attach(self._app, self.engine, StoreKeys(self.engine, open_without_keys=True))
        await self._start_worker()
        if self._group is not None:
            self._skipper = self._group.create_task(self._skip_time())

    async def _skip_time(self) -> None:
        while True:
            engine = self.engine
            await engine.notifier.wait_for_result_waiters()
            await self.worker.wait_for_idle()
            version = engine.notifier.version
            dues = [await engine.next_wakeup_ms(self.worker.identity), self.worker.next_deadline_ms()]
            wake = min((d for d in dues if d is not None), default=None)
            if not (self.worker.is_idle() and engine.notifier.result_waiters) or engine.notifier.version != version:
                await asyncio.sleep(0)
                continue
            if wake is not None and wake > self.clock.now_ms():
                self.clock.advance_to(wake)
            with contextlib.suppress(TimeoutError):
                await engine.notifier.wait_for_change(version) if wake is not None else await self._wait_change(version)

    async def _wait_change(self, version: int) -> None:
        # Nothing is due: wait for something to change (a token used, a workflow started).
        await self.engine.notifier.wait_for_change(version)
