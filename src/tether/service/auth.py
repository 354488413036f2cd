"""Authentication: who a request comes from, resolved to the Access its API key grants."""

from __future__ import annotations

import functools
import ipaddress
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from tether.engine import observation
from tether.engine.engine import Engine
from tether.errors import StoreUnavailable, Unauthenticated
from tether.model import callback_tokens
from tether.model.access import Access
from tether.service import state
from tether.service.errors import response_of


class Authenticator(Protocol):
    """Resolves the API key a request presents (None if none) to what it may do."""

    async def authenticate(self, api_key: str | None, *, host: str = "") -> Access:
        """The access of ``api_key``, for a request addressed to ``host`` (its Host header, port left out).

        Raises:
            Unauthenticated: the key is needed and missing, or unknown, or revoked.
        """
        ...


class StoreKeys:
    """API keys kept (hashed) in the store, as ``tether keys create`` makes them.

    With ``open_without_keys``, a request without a key gets full access as long as no
    active key exists: a server on loopback before its first key, or one run ``--insecure``.
    Unless ``any_host``, that keyless access also needs the request addressed to a loopback
    name, so a web page cannot reach a keyless local server by rebinding its own domain's DNS.
    Revoking a key takes effect at the next request, in every server on the store.
    """

    def __init__(self, engine: Engine, *, open_without_keys: bool, any_host: bool = False) -> None:
        self._engine = engine
        self.open_without_keys = open_without_keys
        self.any_host = any_host

    async def authenticate(self, api_key: str | None, *, host: str = "") -> Access:  # noqa: D102
        access = await self._engine.authenticate(api_key, open_without_keys=self.open_without_keys)
        if access.key_id is None and not self.any_host and not is_loopback(host):
            raise Unauthenticated(
                f"this server serves requests without an API key only at loopback addresses, not {host!r}"
            )
        return access


def host_of(request: Request) -> str:
    """The host a request was addressed to, without its port or IPv6 brackets."""
    return host_in(request.headers.get("host", ""))


def host_in(header: str) -> str:
    """The host a Host header names, without its port or IPv6 brackets."""
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@functools.lru_cache(maxsize=256)  # asked on every request, mostly of the same few names
def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="api_key",
    description="An API key made by `tether keys create`, sent as `Authorization: Bearer <key>`.",
)


_ACCESS = "tether_access"
_OPEN_PATHS = frozenset({"/v1/health", "/v1/openapi.json", "/v1/docs", "/v1/docs/oauth2-redirect"})
_OPEN_PREFIX = f"{callback_tokens.PATH}/"
"""Callback URLs: the signed token in the URL is their permission, and their caller holds no API key."""


async def authenticate(request: Request) -> Access:
    """The access of the API key a request presents in its Authorization header.

    Raises:
        Unauthenticated: the key is needed and missing, malformed, unknown or revoked.
    """
    headers = request.headers
    return await authenticate_headers(
        state.authenticator_of(request), headers.get("authorization"), host_in(headers.get("host", ""))
    )


async def authenticate_headers(authenticator: Authenticator, authorization: str | None, host: str) -> Access:
    """The access of the key an Authorization header presents (None: no header), for a request to ``host``.

    Raises:
        Unauthenticated: the key is needed and missing, malformed, unknown or revoked.
    """
    presented = None
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            # A key sent some other way is not taken as no key at all (which an open server would serve).
            raise Unauthenticated("send the API key as 'Authorization: Bearer <key>'")
        presented = value.strip()
    return await authenticator.authenticate(presented, host=host)


class Authentication:
    """ASGI middleware: every /v1 request is authenticated before its body is read.

    An unauthenticated caller gets 401 and nothing more: its body is neither read nor parsed.
    The routes take the access it established through :data:`Caller`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith("/v1/")
            or path in _OPEN_PATHS
            or path.startswith(_OPEN_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        try:
            access = await authenticate(Request(scope))
        except (Unauthenticated, StoreUnavailable) as exc:
            await response_of(exc)(scope, receive, send)
            return
        remember(scope, access)
        if access.key_name is not None:
            observation.caller.set(access.key_name)  # the engine's transition log names the key (reset by AccessLog)
        await self.app(scope, receive, send)


def remember(scope: Scope, access: Access) -> None:
    """Keep the access a request was found to have, for the routes and the refusal log."""
    scope.setdefault("state", {})[_ACCESS] = access


def access_of(scope: Scope) -> Access | None:
    """The access the middleware established for a request, if it got that far."""
    established = scope.get("state", {}).get(_ACCESS)
    return established if isinstance(established, Access) else None


async def _access(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Access:
    established = access_of(request.scope)
    return established if established is not None else await authenticate(request)


Caller = Annotated[Access, Depends(_access)]
"""A route parameter of this type receives the caller's access (401 before the handler runs if none)."""
