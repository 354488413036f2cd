"""Activity task tokens: opaque, URL-safe, HMAC-SHA256 signed names of one attempt, or of one activity.

Two shapes, told apart by what their signed body lists: an attempt token names
``[key_id, execution_id, activity_id, attempt]``, an activity token
``[key_id, execution_id, activity_id]``. Neither can be turned into the other (the body is
signed whole), and each has exactly one spelling.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tether.errors import InvalidToken

_loads: Callable[[bytes], Any]
try:  # the server's extra has it: a token's body read in one C call, not through json's Python layers
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - an install without the server's extra
    _loads = json.loads


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token names."""

    execution_id: str
    activity_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class ActivityClaims:
    """What a verified activity token names: an activity, whichever of its attempts is current."""

    execution_id: str
    activity_id: int


Claims = TokenClaims | ActivityClaims
"""What a verified token names: one attempt, or one activity."""


_URLSAFE = bytes.maketrans(b"+/", b"-_")
_STANDARD = bytes.maketrans(b"-_", b"+/")
_json_str = json.encoder.encode_basestring_ascii


def _b64_bytes(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _b64(data: bytes) -> str:
    return _b64_bytes(data).decode()


def _unb64(text: str) -> bytes:
    """Decode the one spelling of some bytes that ``_b64`` writes, and no other.

    Lenient base64 decoding reads many strings as the same bytes (padding, characters
    outside the alphabet, ``+/`` for ``-_``, unused low bits set in the last character);
    a token has exactly one string, so anything that does not encode back to itself is refused.

    Raises:
        ValueError: ``text`` is not the canonical unpadded base64url of any bytes.
    """
    spelt = text.encode("ascii")
    data = binascii.a2b_base64(spelt.translate(_STANDARD) + b"=" * (-len(spelt) % 4))
    if _b64_bytes(data) != spelt:
        raise ValueError("not the canonical base64url spelling")
    return data


def sign(claims: Claims, key_id: int, secret: bytes) -> str:
    """Make the token of one attempt (or, given ActivityClaims, of one activity) under signing key ``key_id``."""
    # The compact JSON list [key_id, execution_id, activity_id(, attempt)], written directly.
    # (encode_basestring_ascii is what json.dumps does with a str, without its dispatch.)
    named = f"{int(key_id)},{_json_str(claims.execution_id)},{int(claims.activity_id)}"
    listed = f"[{named},{int(claims.attempt)}]" if isinstance(claims, TokenClaims) else f"[{named}]"
    body = _b64(listed.encode())
    return f"{body}.{_b64(_mac(secret, body.encode()))}"


@functools.lru_cache(maxsize=64)
def _keyed(secret: bytes) -> hmac.HMAC:
    """An HMAC-SHA256 object set up with ``secret`` once; each signature starts from a copy."""
    return hmac.new(secret, digestmod=hashlib.sha256)


def _mac(secret: bytes, body: bytes) -> bytes:
    """HMAC-SHA256 of ``body``, the same as ``hmac.digest``, without setting the key up each time."""
    mac = _keyed(secret).copy()
    mac.update(body)
    return mac.digest()


def key_id_of(token: str) -> int:
    """The signing key id a token claims, read before verification.

    Raises:
        InvalidToken: the token is not of tether's form.
    """
    body, _ = _split(token)
    parts = _parse(body)
    return parts[0]


def verify(token: str, secrets: Mapping[int, bytes]) -> Claims:
    """Check a token's signature and return what it names.

    Raises:
        InvalidToken: forged, truncated, altered, or signed by an unknown key.
    """
    body, mac_text = _split(token)
    parts = _parse(body)
    secret = secrets.get(parts[0])
    if secret is None:
        raise InvalidToken("the token is signed by an unknown key")
    # The signature is compared as text: only the one spelling sign() writes matches.
    # (compare_digest takes ASCII text only; any other character is no spelling of a MAC.)
    expected = _b64(_mac(secret, body.encode()))
    if not mac_text.isascii() or not hmac.compare_digest(mac_text, expected):
        raise InvalidToken("the token's signature does not match; it was forged or altered")
    if len(parts) == 3:
        return ActivityClaims(execution_id=parts[1], activity_id=parts[2])
    return TokenClaims(execution_id=parts[1], activity_id=parts[2], attempt=parts[3])


def _split(token: object) -> tuple[str, str]:
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4096:
        raise InvalidToken("the token is malformed")
    body, mac = token.split(".")
    if not body or not mac:
        raise InvalidToken("the token is truncated")
    return body, mac


@functools.lru_cache(maxsize=1024)  # read twice per call (the key id, then the claims), and a heartbeat's recurs
def _parse(body: str) -> tuple[int, str, int] | tuple[int, str, int, int]:
    """The listed claims of a body: four for an attempt token, three for an activity token."""
    try:
        parts = _loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidToken("the token is malformed") from exc
    if (
        not isinstance(parts, list)
        or len(parts) not in (3, 4)
        or not isinstance(parts[0], int)
        or not isinstance(parts[1], str)
        or not isinstance(parts[2], int)
    ):
        raise InvalidToken("the token is malformed")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if not isinstance(parts[3], int):
        raise InvalidToken("the token is malformed")
    return parts[0], parts[1], parts[2], parts[3]


# Callback URLs' tokens (callback_tokens.py) share this spelling and this MAC.
b64 = _b64
"""The one (unpadded base64url) spelling of some bytes."""
unb64 = _unb64
"""The bytes of the one spelling ``b64`` writes; ValueError for any other string."""
mac = _mac
"""HMAC-SHA256 of a body under a signing key."""
