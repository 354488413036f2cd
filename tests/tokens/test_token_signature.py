"""A token's signature is standard HMAC-SHA256 of its body, whatever the key's length."""

from __future__ import annotations

import base64
import hmac

import pytest

from tether.model import tokens


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
