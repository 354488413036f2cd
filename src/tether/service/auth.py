"""Authentication: who a request comes from, resolved to the Access its API key grants."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tether.engine.engine import Engine
from tether.model.access import Access
from tether.service import state


class Authenticator(Protocol):
    """Resolves the API key a request presents (None if none) to what it may do."""

    async def authenticate(self, api_key: str | None) -> Access:
        """The access of ``api_key``.

        Raises:
            Unauthenticated: the key is needed and missing, or unknown, or revoked.
        """
        ...


class StoreKeys:
    """API keys kept (hashed) in the store, as ``tether keys create`` makes them.

    With ``open_without_keys``, a request without a key gets full access as long as no
    active key exists: a server on loopback before its first key, or one run ``--insecure``.
    Revoking a key takes effect at the next request, in every server on the store.
    """

    def __init__(self, engine: Engine, *, open_without_keys: bool) -> None:
        self._engine = engine
        self.open_without_keys = open_without_keys

    async def authenticate(self, api_key: str | None) -> Access:  # noqa: D102
        return await self._engine.authenticate(api_key, open_without_keys=self.open_without_keys)


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="api_key",
    description="An API key made by `tether keys create`, sent as `Authorization: Bearer <key>`.",
)


async def _access(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Access:
    return await state.authenticator_of(request).authenticate(
        credentials.credentials if credentials is not None else None
    )


Caller = Annotated[Access, Depends(_access)]
"""A route parameter of this type receives the caller's access (401 before the handler runs if none)."""
