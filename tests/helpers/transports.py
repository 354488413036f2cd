"""Run a directory's behaviour tests once per client transport: embedded, and HTTP through a real server.

A conftest imports :func:`transport`; every TestEnvironment its tests open then serves the
HTTP API on loopback and hands the test an HTTP client when the parameter is ``http``.
"""

from __future__ import annotations

import pytest

from tether.testing._environment import TRANSPORT_VARIABLE


@pytest.fixture(params=["embedded", "http"], autouse=True)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The transport of this run of the test."""
    chosen: str = request.param
    monkeypatch.setenv(TRANSPORT_VARIABLE, chosen)
    return chosen
