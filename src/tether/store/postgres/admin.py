"""Creating and dropping whole PostgreSQL databases, for test environments.

A test gets a database of its own on a shared server: a unique name, so that test runs
on the same machine at the same time never meet, and dropped afterwards. Fresh databases
are copies of a template this process migrated once (and drops when it exits), so that
each test's database opens with its schema already in place; threads copy the next few
ahead of time, while the tests run. Used databases are dropped by threads of their own,
several at once: each DROP DATABASE waits for a checkpoint (seconds on a busy server), and
drops that wait together share one, so copies are never held up behind drops.

A process that dies before its drops are done (killed, or its drops refused while the server
had no connection to spare) would leave its databases behind, and a few thousand fill a disk.
So names carry the host and the process that made them, a refused drop is tried again, and
a process that uses a server drops what dead processes of its host left there, unless another
process of the host is already at it.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import queue
import re
import socket
import threading
import time
import uuid
from urllib.parse import urlparse

import psycopg
from psycopg import sql

from tether.errors import StoreUnavailable
from tether.store.postgres import connection as postgres
from tether.store.postgres import schema as postgres_schema

_PREFIX = "tether_test_"
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
_OWNED = re.compile(rf"{_PREFIX}{_HOST}_(\d+)_")
"""The names this host's test processes give their databases: the pid follows the host's tag."""
_SWEEP_LOCK = int(_HOST, 16)
"""The advisory lock a process of this host holds while it drops what dead ones left."""
_DROP_TRIES = 4
_AHEAD = 4
_THREADS = 3  # concurrent CREATE DATABASEs share their WAL flushes: three take little more than one
_DROPPERS = 6
_pools: dict[str, _Pool] = {}
_droppers: dict[str, _Dropper] = {}
_pools_lock = threading.Lock()
_droppers_lock = threading.Lock()


def with_database(url: str, database: str) -> str:
    """The same server URL naming another database."""
    return urlparse(url)._replace(path=f"/{database}").geturl()


def create_database(server_url: str, *, empty: bool = False) -> str:
    """Create a fresh, uniquely named database on the server of ``server_url``; returns its URL.

    ``server_url`` names any database the user may connect to (``.../postgres`` will do).
    The new database has tether's schema already, unless ``empty``.

    Raises:
        StoreUnavailable: the server cannot be reached or refused.
    """
    if empty:
        name = _new_name()
        _administer(server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return with_database(server_url, name)
    with _pools_lock:
        pool = _pools.get(server_url)
        if pool is None:
            pool = _pools[server_url] = _Pool(server_url)
            atexit.register(pool.close)
    return pool.take()


class _Pool:
    """Fresh copies of one migrated template, made ahead by threads of their own."""

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._dropper = _dropper_for(server_url)  # first, so that at exit it outlives the pool
        self._template = _new_name()
        self._ready: queue.Queue[str | StoreUnavailable] = queue.Queue()
        self._orders: queue.SimpleQueue[bool] = queue.SimpleQueue()  # True: make a copy; False: stop
        try:
            self._make_template()
        except StoreUnavailable as exc:
            self._failed: StoreUnavailable | None = exc
        else:
            self._failed = None
        for _ in range(_AHEAD):
            self._orders.put(True)
        self._threads = [
            threading.Thread(target=self._serve, name="tether-test-databases", daemon=True) for _ in range(_THREADS)
        ]
        for thread in self._threads:
            thread.start()

    def take(self) -> str:
        """A fresh database's URL.

        Raises:
            StoreUnavailable: the server cannot be reached or refused.
        """
        made = self._ready.get()
        self._orders.put(True)
        if isinstance(made, StoreUnavailable):
            raise made
        return with_database(self._server_url, made)

    def _serve(self) -> None:
        while self._orders.get():
            # Every taker learns why, when the template could not be made.
            self._ready.put(self._failed if self._failed is not None else self._copy())

    def _copy(self) -> str | StoreUnavailable:
        name = _new_name()
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE {}")
        try:
            _administer(self._server_url, statement.format(sql.Identifier(name), sql.Identifier(self._template)))
        except StoreUnavailable as exc:
            return exc
        return name

    def _make_template(self) -> None:
        _administer(self._server_url, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._template)))
        url = with_database(self._server_url, self._template)
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                postgres_schema.migrate(conn)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"cannot prepare a template database on {self._server_url}: {exc}") from exc

    def close(self) -> None:
        """Stop copying, then hand the unused copies and the template to the dropper (at exit)."""
        for _ in self._threads:
            self._orders.put(False)
        for thread in self._threads:
            thread.join(timeout=60)
        while True:
            try:
                made = self._ready.get_nowait()
            except queue.Empty:
                break
            if isinstance(made, str):
                self._dropper.drop(made)
        self._dropper.drop(self._template)  # no copy is being made from it any more


class _Dropper:
    """Threads that drop databases side by side, until the process exits."""

    def __init__(self, server_url: str) -> None:
        self._server_url = server_url
        self._names: queue.SimpleQueue[str] = queue.SimpleQueue()  # "": stop
        self._threads = [
            threading.Thread(target=self._serve, name="tether-test-drops", daemon=True) for _ in range(_DROPPERS)
        ]
        for thread in self._threads:
            thread.start()

    def drop(self, name: str) -> None:
        """Drop a database in the background (before this process exits)."""
        self._names.put(name)

    def _serve(self) -> None:
        while name := self._names.get():
            _drop_quietly(with_database(self._server_url, name), self._server_url)

    def close(self) -> None:
        """Finish the drops asked for (at exit)."""
        for _ in self._threads:
            self._names.put("")
        for thread in self._threads:
            thread.join(timeout=120)


def _dropper_for(server_url: str) -> _Dropper:
    with _droppers_lock:
        dropper = _droppers.get(server_url)
        if dropper is None:
            dropper = _droppers[server_url] = _Dropper(server_url)
            atexit.register(dropper.close)
            threading.Thread(target=_sweep, args=(server_url,), name="tether-test-sweep", daemon=True).start()
    return dropper


def _new_name() -> str:
    """A unique database name that says which host and process made it (63 characters at most)."""
    return f"{_PREFIX}{_HOST}_{os.getpid()}_{uuid.uuid4().hex[:16]}"


def _sweep(server_url: str, *, wait: bool = False) -> list[str]:
    """Drop, one at a time, what dead processes of this host left on the server; the names dropped.

    One process of a host sweeps a server at a time (an advisory lock held by the sweeping
    session; without ``wait``, a process that finds it taken leaves the sweep to its holder):
    test processes start by the dozen, and each dropping the same thousands of databases at
    once filled the server's connections and queued every drop behind the others' checkpoints.
    The sweep runs on a daemon thread: a process that exits mid-sweep leaves the rest to the next.
    """
    dropped = []
    try:
        with psycopg.connect(postgres.check_url(server_url), autocommit=True, connect_timeout=10) as conn:
            lock = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            row = conn.execute(sql.SQL("SELECT {}(%s)").format(sql.Identifier(lock)), (_SWEEP_LOCK,)).fetchone()
            if wait or (row is not None and row[0]):
                for name in _left_by_dead_processes(conn):
                    try:
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                    except psycopg.Error:
                        if conn.broken or conn.closed:
                            raise
                        # Refused (another session dropping it too, say): the rest are still swept.
                    else:
                        dropped.append(name)
    except psycopg.Error:
        pass  # the tests that need the server say why it cannot be reached; the next process sweeps again
    return dropped


def _left_by_dead_processes(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Test databases on the server that processes of this host made and which no longer run."""
    left = []
    for (name,) in conn.execute("SELECT datname FROM pg_database ORDER BY datname").fetchall():
        assert isinstance(name, str)
        owner = _OWNED.match(name)
        if owner is not None and not _running(int(owner.group(1))):
            left.append(name)
    return left


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _drop_quietly(url: str, server_url: str) -> None:
    """Drop, trying again a few times: a server with no connection to spare refuses for a while."""
    for attempt in range(_DROP_TRIES):
        try:
            drop_database(url, server_url=server_url)
            return
        except StoreUnavailable:
            if attempt + 1 < _DROP_TRIES:
                time.sleep(2**attempt)


def drop_database(url: str, *, server_url: str, wait: bool = True) -> None:
    """Drop the database ``url`` names, closing any connection still open to it.

    With ``wait=False`` the database is dropped in the background, alongside others,
    before the process exits.

    Raises:
        StoreUnavailable: the server cannot be reached or refused.
    """
    name = urlparse(url).path.strip("/")
    if not wait:
        _dropper_for(server_url).drop(name)
        return
    _administer(server_url, sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _administer(server_url: str, statement: sql.Composed) -> None:
    try:
        with psycopg.connect(postgres.check_url(server_url), autocommit=True, connect_timeout=10) as conn:
            conn.execute(statement)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot administer databases on {server_url}: {exc}") from exc
