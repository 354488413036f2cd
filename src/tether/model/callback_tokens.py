"""Callback URLs: the signed token in them that is their only capability, and the URLs' shape.

A callback URL lets a third party (a payment provider's webhook, an ML API) complete or fail
one attempt of an activity with a plain ``POST`` and no API key. Its token signs the
execution, the activity, the attempt, the action (complete or fail) and an optional expiry,
under the store's signing keys, as activity tokens are signed; the MAC covers a prefix of its
own, so that no signature of an activity token is ever one of a callback token, or the reverse.
"""

from __future__ import annotations

import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeGuard
from urllib.parse import urlsplit

from tether.errors import InvalidToken, UsageError
from tether.model import tokens
from tether.model.tokens import TokenClaims

CallbackAction = Literal["complete", "fail"]
ACTIONS: tuple[CallbackAction, ...] = ("complete", "fail")
PATH = "/v1/callbacks"
"""Where the server serves callbacks: ``{PATH}/{action}/{token}``."""

_TAG = "callback"
_DOMAIN = b"tether-callback:"
_MAX_LENGTH = 4096


@dataclass(frozen=True, slots=True)
class CallbackClaims:
    """What a verified callback token names."""

    execution_id: str
    activity_id: int
    attempt: int
    action: CallbackAction
    expires_at_ms: int | None
    """UTC milliseconds from which the URL is refused as expired; None: it never expires."""

    @property
    def attempt_claims(self) -> TokenClaims:
        """The attempt it names, as an activity token would name it."""
        return TokenClaims(self.execution_id, self.activity_id, self.attempt)


def is_action(value: object) -> TypeGuard[CallbackAction]:
    """Whether ``value`` is an action a callback URL may carry."""
    return value in ACTIONS


def sign(claims: CallbackClaims, key_id: int, secret: bytes) -> str:
    """The token of a callback URL under signing key ``key_id``."""
    listed = json.dumps(
        [int(key_id), _TAG, claims.action, claims.execution_id, int(claims.activity_id), int(claims.attempt),
         None if claims.expires_at_ms is None else int(claims.expires_at_ms)],
        separators=(",", ":"),
    )  # fmt: skip
    body = tokens.b64(listed.encode())
    return f"{body}.{tokens.b64(tokens.mac(secret, _DOMAIN + body.encode()))}"


def key_id_of(token: str) -> int:
    """The signing key id a callback token claims, read before verification.

    Raises:
        InvalidToken: the token is not of a callback URL's form.
    """
    return _parse(_split(token)[0])[0]


def verify(token: str, secrets: Mapping[int, bytes]) -> CallbackClaims:
    """Check a callback token's signature and return what it names (its expiry is the caller's to check).

    Raises:
        InvalidToken: forged, truncated, altered, spelt otherwise than signed, or signed by an unknown key.
    """
    body, mac_text = _split(token)
    key_id, action, execution_id, activity_id, attempt, expires_at_ms = _parse(body)
    secret = secrets.get(key_id)
    if secret is None:
        raise InvalidToken("the callback URL is signed by an unknown key")
    # Compared as text, as activity tokens are: only the one spelling sign() writes matches.
    expected = tokens.b64(tokens.mac(secret, _DOMAIN + body.encode()))
    if not mac_text.isascii() or not hmac.compare_digest(mac_text, expected):
        raise InvalidToken("the callback URL's signature does not match; it was forged or altered")
    return CallbackClaims(execution_id, activity_id, attempt, action, expires_at_ms)


def _split(token: object) -> tuple[str, str]:
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > _MAX_LENGTH:
        raise InvalidToken("the callback URL's token is malformed")
    body, mac_text = token.split(".")
    if not body or not mac_text:
        raise InvalidToken("the callback URL's token is truncated")
    return body, mac_text


def _parse(body: str) -> tuple[int, CallbackAction, str, int, int, int | None]:
    try:
        parts = json.loads(tokens.unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("the callback URL's token is malformed") from exc
    if not (isinstance(parts, list) and len(parts) == 7 and parts[1] == _TAG):
        raise InvalidToken("the callback URL's token is malformed")
    key_id, _, action, execution_id, activity_id, attempt, expires_at_ms = parts
    if not (
        _is_int(key_id)
        and is_action(action)
        and isinstance(execution_id, str)
        and _is_int(activity_id)
        and _is_int(attempt)
        and (expires_at_ms is None or _is_int(expires_at_ms))
    ):
        raise InvalidToken("the callback URL's token is malformed")
    return key_id, action, execution_id, activity_id, attempt, expires_at_ms


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def public_base(url: str) -> str:
    """The public base URL of a server, as callback URLs start with it (no trailing slash).

    Raises:
        UsageError: not an absolute http(s) URL with a host, or one with a query or fragment.
    """
    given: object = url
    if not isinstance(given, str):
        raise UsageError(f"the public URL must be a string such as 'https://tether.example.com', not {given!r}")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  # reading it checks the port
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a valid public URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"the public URL must be an absolute http:// or https:// URL with a host "
            f"(how third parties reach the tether server, e.g. https://tether.example.com/base), not {url!r}"
        )
    if parts.query or parts.fragment or url.strip().endswith(("?", "#")):
        raise UsageError(f"the public URL may hold a path but no query or fragment: {url!r}")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def url_of(base: str, action: CallbackAction, token: str) -> str:
    """The callback URL of ``token`` under a public base (as :func:`public_base` gives it)."""
    return f"{base}{PATH}/{action}/{token}"


def split_url(url: str) -> tuple[str, str]:
    """The action and token of a callback URL (its base, whatever it is, is left aside).

    Raises:
        InvalidToken: the URL's path does not end in ``/v1/callbacks/{action}/{token}``.
    """
    path = urlsplit(url).path
    head, _, token = path.rpartition("/")
    prefix, _, action = head.rpartition("/")
    if not prefix.endswith(PATH):
        raise InvalidToken(f"not a callback URL: its path does not end in {PATH}/{{action}}/{{token}}")
    return action, token
