"""A token's signature is standard HMAC-SHA256 of its body, whatever the key's length."""

from __future__ import annotations

import base64
import hmac
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.engine.keys import SigningKeys, Verified
from tether.errors import InvalidToken
from tether.model import tokens
from tether.store.sqlite.store import SQLiteStore


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.mark.parametrize("key_length", [0, 1, 32, 63, 64, 65, 200])
def test_signature_is_hmac_sha256_of_the_body(key_length: int) -> None:
    secret = bytes(range(256))[:key_length]
    claims = tokens.TokenClaims("exécution/1", 7, 3)
    body, mac = tokens.sign(claims, 2, secret).split(".")
    assert _unb64(mac) == hmac.digest(secret, body.encode(), "sha256")
    assert base64.urlsafe_b64encode(_unb64(body)).rstrip(b"=").decode() == body
    assert tokens.verify(f"{body}.{mac}", {2: secret}) == claims


def test_a_key_signs_the_same_after_another_key_was_used() -> None:
    first, second = b"a" * 32, b"b" * 32
    claims = tokens.TokenClaims("e", 1, 1)
    before = tokens.sign(claims, 1, first)
    tokens.sign(claims, 2, second)
    assert tokens.sign(claims, 1, first) == before


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    opened = await SQLiteStore.open(f"sqlite:///{tmp_path / 'keys.db'}")
    yield opened
    await opened.close()


async def test_a_token_verified_ahead_of_its_transaction_is_trusted_only_for_that_token_and_key(
    store: SQLiteStore,
) -> None:
    keys = SigningKeys()
    claims = tokens.TokenClaims("e1", 1, 1)
    token = await store.run(lambda tx: keys.sign(tx, claims, 0))
    ahead = keys.verify_known(token)
    assert ahead is not None
    assert ahead.claims == claims
    forged = tokens.sign(tokens.TokenClaims("e2", 1, 1), 1, b"not the key")
    other_key = Verified(token, tokens.TokenClaims("e3", 1, 1), b"not the key")

    assert await store.run(lambda tx: keys.verify(tx, token, 0, ahead)) == claims
    with pytest.raises(InvalidToken):  # another token is verified, not taken on the word of the first
        await store.run(lambda tx: keys.verify(tx, forged, 0, ahead))
    # Claims verified with a key other than the store's of that id are not trusted: verified again.
    assert await store.run(lambda tx: keys.verify(tx, token, 0, other_key)) == claims
    assert keys.verify_known(forged) is None
