"""Fixtures for the store contract: one fresh store per test, per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tether.store.base import Store
from tether.store.postgres.store import PostgresStore
from tether.store.sqlite.store import SQLiteStore


async def open_url(url: str) -> Store:
    """Open a store by URL; the contract tests use it to open a second store on the same database."""
    if url.startswith("sqlite:"):
        return await SQLiteStore.open(url)
    if url.startswith("postgresql:"):
        return await PostgresStore.open(url)
    raise AssertionError(f"no store for {url!r}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """A fresh store of each backend, closed after the test."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")
    opened = await open_url(url)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def postgres_store(postgres_url: str) -> AsyncIterator[PostgresStore]:
    """A fresh PostgreSQL store, for what only that store does; closed after the test."""
    opened = await PostgresStore.open(postgres_url)
    try:
        yield opened
    finally:
        await opened.close()
