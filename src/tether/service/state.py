"""What the app keeps for its routes: the engine and the authenticator, on ``app.state``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request

from tether.engine.engine import Engine
from tether.model.codecs import PayloadCodec

if TYPE_CHECKING:
    from tether.service.auth import Authenticator


def attach(app: FastAPI, engine: Engine, authenticator: Authenticator) -> None:
    """Give the app's routes their engine and authenticator (no globals: each app has its own)."""
    app.state.engine = engine
    app.state.authenticator = authenticator
    if not hasattr(app.state, "stopping"):
        app.state.stopping = asyncio.Event()


def codec_of(request: Request) -> PayloadCodec | None:
    """The codec the server decodes payloads with for the UI (``tether server --codec-keys``), if any."""
    codec: PayloadCodec | None = getattr(request.app.state, "codec", None)
    return codec


def stopping(request: Request) -> asyncio.Event:
    """Set once the server stops: requests that wait (result long polls) answer at once."""
    event: asyncio.Event = request.app.state.stopping
    return event


def stop_waiting(app: object) -> None:
    """Answer every waiting request of ``app`` now (the server is stopping)."""
    if isinstance(app, FastAPI):
        app.state.stopping.set()


def engine_of(request: Request) -> Engine:
    """The engine of the app serving ``request``."""
    engine: Engine = request.app.state.engine
    return engine


def authenticator_of(request: Request) -> Authenticator:
    """The authenticator of the app serving ``request``."""
    return authenticator_of_app(request.app)


def authenticator_of_app(app: FastAPI) -> Authenticator:
    """The authenticator of ``app``."""
    authenticator: Authenticator = app.state.authenticator
    return authenticator
