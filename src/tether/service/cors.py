"""Cross-origin access: which web origins may call the API from a browser, with an API key.

Keys travel in the Authorization header, never in cookies, so no credentials mode is
allowed; a preflight request is answered before authentication, as browsers send it
without the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware

from tether.errors import UsageError

ALLOWED_HEADERS = ("authorization", "content-type")
ALLOWED_METHODS = ("GET", "POST", "DELETE")
PREFLIGHT_MAX_AGE = 600


def origin(text: str) -> str:
    """An origin as browsers send it (``scheme://host[:port]``), or ``*`` for any.

    Raises:
        UsageError: the text is not an origin (it has a path, a query, or no host).
    """
    if text == "*":
        return text
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{text!r} is not an origin: write scheme://host[:port], e.g. https://app.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError(f"{text!r} is not an origin: an origin has no path, query or user, only scheme://host[:port]")
    try:
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"{text!r} is not an origin: {exc}") from exc
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def install(app: Starlette, origins: Sequence[str]) -> None:
    """Answer cross-origin requests from ``origins`` (each checked with :func:`origin`), before anything else runs.

    Raises:
        UsageError: one of them is not an origin.
    """
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin(o) for o in origins],
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE,
    )
