from __future__ import annotations

import contextlib
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import history_checker
from tether.errors import StoreUnavailable
from tether.store.postgres import admin as postgres_admin
from tether.testing._environment import TEST_DB_VARIABLE

POSTGRES_SERVER = os.environ.get("TETHER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The PostgreSQL server the tests create their databases on (any database on it will do)."""


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'tether.db'}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """The URL of a fresh SQLite file."""
    return f"sqlite:///{tmp_path / 't.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a fresh PostgreSQL database of this test's own (schema in place), dropped afterwards."""
    url = postgres_admin.create_database(POSTGRES_SERVER)
    try:
        yield url
    finally:
        postgres_admin.drop_database(url, server_url=POSTGRES_SERVER, wait=False)


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database of this test's own, dropped afterwards."""
    url = postgres_admin.create_database(POSTGRES_SERVER, empty=True)
    try:
        yield url
    finally:
        postgres_admin.drop_database(url, server_url=POSTGRES_SERVER, wait=False)


_ON_BOTH_BACKENDS = ("activities", "tokens", "workflows", "recovery", "notifications", "schedules", "telemetry")
"""Behaviour suites that run on SQLite and again on PostgreSQL (over HTTP on SQLite only, to keep the run short)."""

_SERVED_ON_POSTGRES = (
    "test_idempotent_close.py",
    "test_activity_tokens.py",
    "test_key_rotation.py",
    "test_auth.py",
    "test_callback_urls.py",
)
"""Test files that also run over HTTP on PostgreSQL: activities closed (and raced) by token through a
server, API keys, their scopes and revocation, and callback URLs, on a store a worker's process shares."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    path = metafunc.definition.path
    if (
        "backend" not in metafunc.fixturenames
        or (path.parent.name not in _ON_BOTH_BACKENDS and path.name not in _SERVED_ON_POSTGRES)
        or metafunc.definition.get_closest_marker("single_backend") is not None
    ):
        return
    metafunc.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _drop_http_on_postgres(config, items)
    shared = sorted({item.path.name for item in items if _shares_a_module_fixture(item)} - set(_ONE_PROCESS))
    if shared:
        raise pytest.UsageError(f"add {', '.join(shared)} to _ONE_PROCESS in tests/conftest.py: a module fixture")
    # The longest first, so that neither of the processes that share the suite is left running one alone at the end.
    items.sort(key=lambda item: _FIRST.index(next((m for m in _FIRST if item.get_closest_marker(m)), "")))


_FIRST = ("static", "acceptance", "")
"""The order tests start in: static checks (mypy takes the longest), then those that drive processes, then the rest."""

_ONE_PROCESS = (
    "test_api_fuzz.py",
    "test_example.py",
    "test_queue_consumers.py",
    "test_server_demo.py",
    "test_sfn_compat.py",
)
"""Test files with a fixture made once for the whole module: all their tests run in one worker process, so once."""


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        defs and defs[-1].scope in ("module", "class") for defs in info.name2fixturedefs.values()
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Tests go to whichever worker is free, one at a time, except that each _ONE_PROCESS file goes whole to one."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no type information
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return file if file.rsplit("/", 1)[-1] in _ONE_PROCESS else nodeid

    return Scheduling(config, log)


def _drop_http_on_postgres(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = [
        item
        for item in items
        if _params(item).get("transport") == "http"
        and _params(item).get("backend") == "postgres"
        and item.path.name not in _SERVED_ON_POSTGRES
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def _params(item: pytest.Item) -> dict[str, object]:
    callspec = getattr(item, "callspec", None)
    return dict(callspec.params) if callspec is not None else {}


@pytest.fixture(autouse=True)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store TestEnvironments of this test run on (PostgreSQL through TETHER_TEST_DB)."""
    name: str = getattr(request, "param", "sqlite")
    if name == "postgres":
        monkeypatch.setenv(TEST_DB_VARIABLE, POSTGRES_SERVER)
    else:
        monkeypatch.delenv(TEST_DB_VARIABLE, raising=False)
    return name


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A fresh database of this test's backend."""
    return str(request.getfixturevalue("postgres_url" if backend == "postgres" else "db_url"))


_HISTORIES_UNCHECKED = ("store",)
"""Test folders that write rows directly (store contracts): their histories need not make sense."""
_HISTORIES_CHECKED_AFTER_ALL = (
    "test_concurrent_stores.py",
    "test_concurrent_runs_and_children.py",
    "test_concurrent_messages.py",
    "test_published_across_stores.py",
    "test_concurrent_activity_tokens.py",
    "test_concurrent_notifications.py",
    "test_flow_control_across_workers.py",
)
"""Files in those folders whose histories are made by the engine, and so are checked."""


@pytest.fixture(autouse=True)
def histories_stay_consistent(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Check the invariants of every history a store holds when the test closes it (see history_checker)."""
    path = request.node.path
    if path.parent.name in _HISTORIES_UNCHECKED and path.name not in _HISTORIES_CHECKED_AFTER_ALL:
        yield
        return
    from tether.store.postgres.store import PostgresStore
    from tether.store.sqlite.store import SQLiteStore

    problems: list[str] = []
    for store_class in (SQLiteStore, PostgresStore):
        monkeypatch.setattr(store_class, "close", _checking_close(store_class.close, problems))
    yield
    if problems:
        raise history_checker.HistoryViolation("\n".join(problems))


def _checking_close(close: Callable[[Any], Awaitable[None]], problems: list[str]) -> Callable[[Any], Awaitable[None]]:
    async def checked(store: Any) -> None:
        if not getattr(store, "_history_checked", False):
            store._history_checked = True
            with contextlib.suppress(StoreUnavailable):  # a store a test broke on purpose: nothing can be read
                problems.extend(await history_checker.check_store(store))
        await close(store)

    return checked
