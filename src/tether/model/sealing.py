"""Sealed secrets: a secret the server must read back, encrypted and authenticated under a key it keeps.

A SigV4 secret cannot be kept as a hash, as an API key's is: checking a signature needs the
secret itself. It is kept sealed instead, under keys derived (by HMAC-SHA256, one per purpose)
from a token signing key of the store, so that the rows holding it reveal nothing without that
key, the same protection the token signing keys have. The cipher is HMAC-SHA256 in counter mode
with a random 16-byte nonce, then an HMAC-SHA256 tag over everything (encrypt-then-MAC), built
on the standard library alone. The tag also covers ``context`` (what the secret belongs to), so
a sealed value copied onto another row does not open there.

A sealed value reads ``s1.<signing key id>.<nonce>.<ciphertext>.<tag>``, base64url parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_VERSION = "s1"
_NONCE_BYTES = 16


def _derived(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, b"tether sealed secret\x00" + purpose, hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    encrypting = _derived(key, b"encrypt")
    blocks = (length + 31) // 32
    stream = b"".join(
        hmac.new(encrypting, nonce + index.to_bytes(4, "big"), hashlib.sha256).digest() for index in range(blocks)
    )
    return stream[:length]


def _tag(key: bytes, key_id: int, context: str, nonce: bytes, ciphertext: bytes) -> bytes:
    header = f"{_VERSION}\x00{key_id}\x00{context}\x00".encode()
    return hmac.new(_derived(key, b"authenticate"), header + nonce + ciphertext, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(plain: str, *, key_id: int, key: bytes, context: str) -> str:
    """Encrypt and authenticate ``plain`` under ``key`` (the signing key numbered ``key_id``), for ``context``."""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    data = plain.encode()
    ciphertext = bytes(a ^ b for a, b in zip(data, _keystream(key, nonce, len(data)), strict=True))
    tag = _tag(key, key_id, context, nonce, ciphertext)
    return ".".join((_VERSION, str(key_id), _b64(nonce), _b64(ciphertext), _b64(tag)))


def key_id_of(sealed: str) -> int | None:
    """The id of the signing key a value is sealed under; None if it is no sealed value."""
    parts = sealed.split(".")
    if len(parts) != 5 or parts[0] != _VERSION or not parts[1].isdigit():
        return None
    return int(parts[1])


def unseal(sealed: str, *, key: bytes, context: str) -> str | None:
    """The secret ``sealed`` holds, once its tag proves it unaltered and sealed for ``context``.

    None when it is malformed, altered, or sealed under another key or for another context.
    """
    key_id = key_id_of(sealed)
    if key_id is None:
        return None
    _, _, nonce_text, ciphertext_text, tag_text = sealed.split(".")
    try:
        nonce, ciphertext, tag = _unb64(nonce_text), _unb64(ciphertext_text), _unb64(tag_text)
    except ValueError:
        return None
    if not hmac.compare_digest(tag, _tag(key, key_id, context, nonce, ciphertext)):
        return None
    data = bytes(a ^ b for a, b in zip(ciphertext, _keystream(key, nonce, len(ciphertext)), strict=True))
    return data.decode()
