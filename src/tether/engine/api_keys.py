"""API keys of the server: created once, stored as a hash, revocable; each resolves to an Access.

A key reads ``tether_<key id>_<secret>``. The key id finds the row; only a SHA-256 hash of
the secret is stored (the secret is random and long, so a slow password hash adds nothing),
and it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from tether.errors import ApiKeyNotFound, InvalidPayload, Unauthenticated, UsageError
from tether.model.access import Access, Scope
from tether.model.clock import from_ms
from tether.model.records import ApiKeyInfo
from tether.store.base import ApiKeyReads, Transaction
from tether.store.rows import ApiKeyRow

PREFIX = "tether_"
_NAME_LIMIT = 100


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def info(row: ApiKeyRow) -> ApiKeyInfo:
    """The listing view of a key."""
    return ApiKeyInfo(
        key_id=row.key_id,
        name=row.name,
        scopes=json.loads(row.scopes),
        created_at=from_ms(row.created_at_ms),
        revoked_at=from_ms(row.revoked_at_ms) if row.revoked_at_ms is not None else None,
        sigv4=row.sigv4_secret is not None,
    )


def parse_scopes(texts: list[str]) -> tuple[Scope, ...]:
    """Parse scopes given by a person.

    Raises:
        InvalidPayload: none given, or one of them is not a scope.
    """
    if not texts:
        raise InvalidPayload("an API key needs at least one scope", errors=[{"loc": ["scope"], "msg": "required"}])
    return tuple(Scope.parse(text) for text in texts)


def create(tx: Transaction, name: str, scopes: tuple[Scope, ...], now_ms: int) -> tuple[ApiKeyInfo, str]:
    """Store a new key and return it with its plain text, which is never stored or shown again.

    Raises:
        InvalidPayload: the name is empty or too long.
    """
    if not name.strip() or len(name) > _NAME_LIMIT:
        raise InvalidPayload(
            f"an API key needs a name of 1 to {_NAME_LIMIT} characters", errors=[{"loc": ["name"], "msg": "invalid"}]
        )
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(key_id, name.strip(), _hash(secret), json.dumps([str(s) for s in scopes]), now_ms, None)
    tx.insert_api_key(row)
    return info(row), f"{PREFIX}{key_id}_{secret}"


def revoke(tx: Transaction, key: str, now_ms: int) -> ApiKeyInfo:
    """Revoke a key named by its id, or by its name when exactly one active key has it.

    Raises:
        ApiKeyNotFound: no active key has this id, or the name is not that of exactly one active key.
    """
    row = active(tx, key, doing="revoke")
    tx.revoke_api_key(row.key_id, now_ms)
    revoked = tx.get_api_key(row.key_id)
    assert revoked is not None
    return info(revoked)


def active(tx: Transaction, key: str, *, doing: str) -> ApiKeyRow:
    """The active key named by its id, or by its name when exactly one active key has it.

    Raises:
        ApiKeyNotFound: no active key has this id, or the name is that of no active key.
        UsageError: several active keys have this name (``doing`` says what to do with one, by its id).
    """
    row = tx.get_api_key(key)
    if row is None or row.revoked_at_ms is not None:
        named = [r for r in tx.list_api_keys() if r.name == key and r.revoked_at_ms is None]
        if len(named) > 1:
            ids = ", ".join(r.key_id for r in named)
            raise UsageError(f"{len(named)} active keys are named {key!r} ({ids}); {doing} one by its id")
        if not named:
            raise ApiKeyNotFound(key)
        row = named[0]
    return row


def split(presented: str) -> tuple[str, str]:
    """A presented key's id and secret (both empty when it is not a tether key); the id may be logged."""
    if not presented.startswith(PREFIX):
        return "", ""
    key_id, _, secret = presented.removeprefix(PREFIX).partition("_")
    return key_id, secret


def authenticate(tx: ApiKeyReads, presented: str | None, *, open_without_keys: bool) -> Access:
    """The access an API key grants.

    With ``open_without_keys`` and no active key in the store, every caller gets full
    access (a server on loopback before its first key exists, or one run ``--insecure``).

    Raises:
        Unauthenticated: no key where one is needed, or a malformed, unknown or revoked key.
    """
    if presented is None:
        if open_without_keys and not tx.has_active_api_keys():
            return Access.everything()
        raise Unauthenticated("this server needs an API key: send it as 'Authorization: Bearer <key>'")
    key_id, secret = split(presented)
    row = tx.get_api_key(key_id) if key_id and secret else None
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
        raise Unauthenticated("the API key is not valid")
    if row.revoked_at_ms is not None:
        raise Unauthenticated("the API key was revoked")
    return access_of(row)


def access_of(row: ApiKeyRow) -> Access:
    """What a key grants, by its scopes."""
    return Access(tuple(Scope.parse(s) for s in json.loads(row.scopes)), key_id=row.key_id, key_name=row.name)
