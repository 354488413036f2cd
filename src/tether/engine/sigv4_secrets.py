"""SigV4 secrets of API keys, for AWS SDKs: given once, kept sealed, opened to check a signature.

An AWS SDK signs each request (Signature Version 4) with an access key id and a secret access
key. For tether the access key id is the API key's id and the secret is one of its own, made
by ``tether keys create --sigv4`` or ``tether keys sigv4``: a key without one is never taken
for SigV4. Checking a signature needs the secret itself, so it is kept sealed (see
:mod:`tether.model.sealing`) under the newest token signing key, bound to the key's id.
"""

from __future__ import annotations

import secrets

from tether.engine import api_keys
from tether.engine.keys import SigningKeys
from tether.errors import Unauthenticated
from tether.model import sealing
from tether.model.access import Access
from tether.model.records import ApiKeyInfo
from tether.store.base import Transaction

_CONTEXT = "sigv4 secret of API key "


def give(tx: Transaction, signing: SigningKeys, key: str, now_ms: int) -> tuple[ApiKeyInfo, str]:
    """Give an active key (by id, or by a name one active key has) a new SigV4 secret, replacing any.

    Returns the key and the secret, which is shown this once.

    Raises:
        ApiKeyNotFound: no such active key.
    """
    row = api_keys.active(tx, key, doing="give a SigV4 secret to")
    secret = secrets.token_urlsafe(30)  # 40 characters, as long as an AWS secret access key
    key_id, signing_key = signing.newest(tx, now_ms)
    sealed = sealing.seal(secret, key_id=key_id, key=signing_key, context=_CONTEXT + row.key_id)
    assert tx.set_api_key_sigv4(row.key_id, sealed)
    given = tx.get_api_key(row.key_id)
    assert given is not None
    return api_keys.info(given), secret


def credentials(tx: Transaction, signing: SigningKeys, access_key_id: str, now_ms: int) -> tuple[Access, str]:
    """What the key ``access_key_id`` grants, and its SigV4 secret, to check a signature with.

    Raises:
        Unauthenticated: no such key, a revoked one, or one without a SigV4 secret.
    """
    row = tx.get_api_key(access_key_id)
    if row is None:
        raise Unauthenticated("no API key has this access key id")
    if row.revoked_at_ms is not None:
        raise Unauthenticated("the API key was revoked")
    sealed = row.sigv4_secret
    key_id = None if sealed is None else sealing.key_id_of(sealed)
    if sealed is None or key_id is None:
        raise Unauthenticated(f"API key {row.name!r} has no SigV4 secret: give it one with 'tether keys sigv4'")
    keys = signing.keys_with_id(tx, key_id, now_ms)
    secret = None if keys is None else sealing.unseal(sealed, key=keys[key_id], context=_CONTEXT + row.key_id)
    if secret is None:
        raise Unauthenticated(
            f"the SigV4 secret of API key {row.name!r} cannot be opened; give it a new one with 'tether keys sigv4'"
        )
    return api_keys.access_of(row), secret
