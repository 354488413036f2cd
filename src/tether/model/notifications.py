"""Notifications out: their events, the URLs they go to, and the signature a receiver checks.

A notification is a ``POST`` of a JSON body to a sink's URL. It is signed as Stripe signs
its webhooks: HMAC-SHA256, under the sink's secret, of ``"<timestamp>.<body>"``, sent as
``Tether-Signature: t=<unix seconds>,v1=<hex digest>``. The timestamp is the sender's wall
clock at the moment of sending (a receiver compares it with its own), so that a body seen
once cannot be replayed later; the signature covers the exact bytes of the body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import urlsplit

from tether.errors import InvalidSignature, UsageError

WAITING: Final = "activity.waiting"
"""An attempt went async: the activity waits for its token (the body carries it)."""
CLOSED: Final = "activity.closed"
"""An activity that waited for its token closed: completed, failed, timed out or cancelled."""

SIGNATURE_HEADER: Final = "Tether-Signature"
DELIVERY_HEADER: Final = "Tether-Delivery"
EVENT_HEADER: Final = "Tether-Event"
DEFAULT_TOLERANCE_S: Final = 300.0
"""How old a signature :func:`verify_notification` accepts by default, in seconds (and how far in the future)."""

_MAX_URL_LENGTH = 2048


def check_url(url: object) -> str:
    """A sink URL as it is stored and matched: an absolute http(s) URL with a host, stripped.

    Raises:
        UsageError: anything else.
    """
    if not isinstance(url, str):
        raise UsageError(f"a notification URL must be a string such as 'https://hooks.example.com/tether', not {url!r}")
    text = url.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  # reading it checks the port
    except ValueError as exc:
        raise UsageError(f"{url!r} is not a valid notification URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > _MAX_URL_LENGTH:
        raise UsageError(
            f"a notification URL must be an absolute http:// or https:// URL with a host "
            f"(e.g. https://hooks.example.com/tether), not {url!r}"
        )
    return text


def check_urls(urls: str | Sequence[str] | None) -> tuple[str, ...]:
    """One URL or several (as ``notify=`` takes them), checked, in order, without repeats.

    Raises:
        UsageError: one is not an absolute http(s) URL.
    """
    if urls is None:
        return ()
    listed = [urls] if isinstance(urls, str) else list(urls)
    return tuple(dict.fromkeys(check_url(u) for u in listed))


def new_secret() -> str:
    """A fresh signing secret for a sink (shown to its operator once, when made)."""
    return f"whsec_{secrets.token_urlsafe(32)}"


def new_delivery_id() -> str:
    """A unique id for one notification, the same across its retries (receivers deduplicate by it)."""
    return f"ntf_{secrets.token_hex(12)}"


def new_sink_id() -> str:
    """A short unique id for a sink."""
    return f"snk_{secrets.token_hex(6)}"


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` under ``secret``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``Tether-Signature`` header of ``body`` signed now (or at ``timestamp``, unix seconds)."""
    at = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={at},v1={signature(secret, body, at)}"


def verify_notification(
    body: bytes | str,
    header: str | None,
    secret: str | Sequence[str],
    *,
    tolerance: float | None = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a notification's ``Tether-Signature`` header and return its parsed JSON body.

    Pass the body exactly as it arrived (its raw bytes, before any JSON parsing) and the
    sink's secret (or several, while a secret is being rotated: any one may match). The
    signature's timestamp must be within ``tolerance`` seconds of ``now`` (default: the
    current time), so that a captured notification cannot be replayed later; None skips
    that check. Deduplicate by the body's ``id``: a notification may arrive more than once.

    Raises:
        InvalidSignature: the header is missing or malformed, no ``v1`` signature matches
            (the body was altered, or signed with another secret), or the timestamp is
            outside the tolerance.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    timestamp, signatures = _parse_header(header)
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not any(hmac.compare_digest(signature(key, raw, timestamp), given) for key in keys for given in signatures):
        raise InvalidSignature("the notification's signature does not match its body under this secret")
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance:
            raise InvalidSignature(
                f"the notification was signed at {timestamp}, more than {tolerance:g}s from now ({int(current)})"
            )
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise InvalidSignature("the notification's body is not JSON") from exc
    if not isinstance(parsed, dict):
        raise InvalidSignature("the notification's body is not a JSON object")
    return parsed


def _parse_header(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise InvalidSignature(f"no {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and value.isascii():
            timestamp = int(value)
        elif key == "v1" and value.isascii():
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature(f"malformed {SIGNATURE_HEADER} header: expected t=<unix seconds>,v1=<hex>")
    return timestamp, signatures
