"""Authentication: who a request comes from, resolved to the Access its API key grants."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tether.engine.engine import Engine
from tether.errors import Unauthenticated
from tether.model.access import Access
from tether.service import state


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
    header = request.headers.get("host", "")
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


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


async def _access(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Access:
    if credentials is None and "authorization" in request.headers:
        # A key sent some other way is not taken as no key at all (which an open server would serve).
        raise Unauthenticated("send the API key as 'Authorization: Bearer <key>'")
    presented = credentials.credentials if credentials is not None else None
    return await state.authenticator_of(request).authenticate(presented, host=host_of(request))


Caller = Annotated[Access, Depends(_access)]
"""A route parameter of this type receives the caller's access (401 before the handler runs if none)."""
