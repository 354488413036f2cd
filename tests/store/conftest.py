"""Fixtures for the store contract: one fresh store per test, per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.store.base import Store
from tether.store.sqlite import SQLiteStore


def fresh_url(backend: str, tmp_path: Path) -> str:
    """The URL of a fresh, empty database of one backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/t.db"
    raise AssertionError(f"no store fixture for backend {backend!r}")


async def open_url(url: str) -> Store:
    """Open a store by URL; the contract tests use it to open a second store on the same database."""
    if url.startswith("sqlite:"):
        return await SQLiteStore.open(url)
    raise AssertionError(f"no store for {url!r}")


# A PostgreSQL store joins as a second parameter (marked `postgres`) once it exists.
@pytest.fixture(params=["sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store, closed after the test."""
    opened = await open_url(fresh_url(request.param, tmp_path))
    try:
        yield opened
    finally:
        await opened.close()
