"""The thread that LISTENs for other processes' commits to a PostgreSQL store and reports them.

A batch that writes sends a NOTIFY naming its store and the loops it gave work to (and
``closed`` if executions closed); one that names neither sends none.
This thread reports the commits of other stores to the event loop as ``"external"`` with
those loops' topics, coalesced into one wake-up while the loop has not yet taken the last
one. It also reports one (waking every loop) every poll interval without notices, and
after it reconnects, so that a lost connection delays other processes' work but never
strands it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg

from tether.store.batches import fail, resolve
from tether.store.postgres.failures import unavailable
from tether.store.postgres.held import Row

logger = logging.getLogger(__name__)

CHANNEL = "tether_changes"
TOPICS = frozenset({"workflows", "activities", "timers", "messages", "outbox", "schedules"})
"""The topics a notice names: the loops a commit gave work to (``outbox``: notifications to deliver;
``schedules``: a schedule made or changed), and ``messages`` (published values)."""
POLL_SECONDS = 2.0
CONNECT_TIMEOUT = 10


def stop_notice(store_id: str) -> str:
    """The payload that tells the listener of store ``store_id`` to stop."""
    return f"{store_id}:stop"


class ChangeListener:
    """Reports commits of other stores on the same database to ``report``, on the event loop."""

    def __init__(
        self,
        conninfo: str,
        store_id: str,
        loop: asyncio.AbstractEventLoop,
        stopping: threading.Event,
        report: Callable[[set[str]], None],
    ) -> None:
        self._conninfo = conninfo
        self._id = store_id
        self._loop = loop
        self._stopping = stopping
        self._report = report
        self._pending = False
        self._topics: set[str] = set()
        self._lock = threading.Lock()

    def run(self, listening: asyncio.Future[None]) -> None:
        """Listen until the store stops (the thread's body); ``listening`` settles once the first LISTEN ran."""
        delay = 0.05
        first = True
        while not self._stopping.is_set():
            try:
                conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
            except psycopg.Error as exc:
                if first:
                    self._loop.call_soon_threadsafe(fail, listening, unavailable("cannot listen", exc))
                    return
                logger.warning("cannot listen for changes; polling", exc_info=True)
                self._post()
                self._stopping.wait(delay)
                delay = min(delay * 2, POLL_SECONDS)
                continue
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                if first:
                    first = False
                    self._loop.call_soon_threadsafe(resolve, listening, None)
                else:
                    self._post()  # changes may have gone unnoticed while disconnected
                delay = 0.05
                self._receive(conn)
            except psycopg.Error as exc:
                if first:
                    self._loop.call_soon_threadsafe(fail, listening, unavailable("cannot listen", exc))
                    return
                logger.warning("lost the connection listening for changes", exc_info=True)
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.close()

    def _receive(self, conn: psycopg.Connection[Row]) -> None:
        stop = stop_notice(self._id)
        while not self._stopping.is_set():
            heard = False
            for notice in conn.notifies(timeout=POLL_SECONDS, stop_after=1):
                if notice.payload == stop:
                    return
                heard = True
                sender, *touched = notice.payload.split(" ")
                if sender != self._id:
                    self._post(set(touched) & TOPICS)
            if self._stopping.is_set():
                return
            if not heard:
                # A poll interval without any notice wakes everything: a fallback should one be missed.
                self._post()

    def _post(self, topics: set[str] | None = None) -> None:
        """Report another process's commit: the loops it gave work to (all of them when unknown)."""
        with self._lock:
            self._topics |= {"*"} if topics is None else topics
            if self._pending:
                return
            self._pending = True
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody listens any more
            self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        # Notices that arrive before this runs are covered by it: whoever reacts reads afterwards.
        with self._lock:
            self._pending = False
            topics, self._topics = self._topics, set()
        self._report({"external", *topics})
