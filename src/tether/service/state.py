"""What the app keeps for its routes: the engine and the authenticator, on ``app.state``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

from tether.engine.engine import Engine

if TYPE_CHECKING:
    from tether.service.auth import Authenticator


def attach(app: FastAPI, engine: Engine, authenticator: Authenticator) -> None:
    """Give the app's routes their engine and authenticator (no globals: each app has its own)."""
    app.state.engine = engine
    app.state.authenticator = authenticator


def engine_of(request: Request) -> Engine:
    """The engine of the app serving ``request``."""
    engine: Engine = request.app.state.engine
    return engine


def authenticator_of(request: Request) -> Authenticator:
    """The authenticator of the app serving ``request``."""
    authenticator: Authenticator = request.app.state.authenticator
    return authenticator
