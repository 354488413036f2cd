"""AesGcmCodec: the ready payload codec, AES-256-GCM with key ids for rotation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tether.errors import UsageError
from tether.model import codecs, extras, payloads
from tether.model.payloads import JSONValue

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ENCODING = "aes-gcm"
"""The encoding's name in the envelope."""

_KEY_BYTES = 32
_NONCE_BYTES = 12


class AesGcmCodec:
    """Encrypts every payload with AES-256-GCM under the current key; decrypts with any key it knows.

    ``keys`` maps key ids to 32-byte keys; new payloads are written with ``current``, and
    payloads written with any other key still decode, so keys rotate by adding a new one,
    making it current, and dropping the old one once nothing written with it is needed.
    The key id travels in the envelope and is authenticated with the data: a payload
    cannot be passed off as another key's.

    Each payload's 96-bit nonce is derived from its content with HMAC-SHA256 under a key of
    its own (a synthetic IV): equal values under the same key encrypt equally, so that a
    retried completion or keyed message is recognised as the same one by the server, which
    cannot see inside. That shows which payloads are equal, never what they hold.

    Needs the ``cryptography`` package (``pip install 'tether[encryption]'``).

    Raises:
        UsageError: no keys, a key that is not 32 bytes, an empty key id, or ``current``
            not among ``keys``.
        tether.errors.MissingExtra: ``cryptography`` is not installed (the ``encryption`` extra).
    """

    def __init__(self, keys: Mapping[str, bytes], *, current: str) -> None:
        if not keys:
            raise UsageError("AesGcmCodec needs at least one key")
        if current not in keys:
            raise UsageError(f"current={current!r} is not one of the key ids given ({', '.join(sorted(keys))})")
        with extras.required(extras.ENCRYPTION, "cryptography"):
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        self._ciphers: dict[str, tuple[AESGCM, bytes]] = {}
        for key_id, key in keys.items():
            given: tuple[object, object] = (key_id, key)  # checked at run time: callers need not be typed
            if not isinstance(given[0], str) or not key_id:
                raise UsageError("key ids must be non-empty strings")
            if not isinstance(given[1], bytes) or len(key) != _KEY_BYTES:
                raise UsageError(f"key {key_id!r} must be {_KEY_BYTES} bytes (AES-256), e.g. os.urandom(32)")
            nonce_key = hmac.digest(key, b"tether/aes-gcm nonce", hashlib.sha256)
            self._ciphers[key_id] = (AESGCM(key), nonce_key)
        self.current = current
        """The id of the key new payloads are encrypted with."""

    @property
    def key_ids(self) -> list[str]:
        """The ids of the keys this codec decrypts with."""
        return sorted(self._ciphers)

    def encode(self, value: JSONValue) -> JSONValue:
        """The envelope of ``value``, encrypted with the current key."""
        cipher, nonce_key = self._ciphers[self.current]
        plain = payloads.json_text(value).encode()
        nonce = hmac.digest(nonce_key, plain, hashlib.sha256)[:_NONCE_BYTES]
        data = cipher.encrypt(nonce, plain, _associated(self.current))
        return {codecs.ENVELOPE: ENCODING, "key": self.current, "nonce": _b64(nonce), "data": _b64(data)}

    def decode(self, value: JSONValue) -> JSONValue:
        """The value an envelope of this codec holds.

        Raises:
            UndecodablePayload: another encoding, an unknown key id, a malformed envelope, or data
                that does not authenticate (altered, or written with another key of the same id).
        """
        if not codecs.is_encoded(value):
            return value
        envelope: dict[str, Any] = value
        if envelope[codecs.ENVELOPE] != ENCODING:
            raise codecs.undecodable(envelope, f"this codec decodes {ENCODING} only")
        key_id = envelope.get("key")
        found = self._ciphers.get(key_id) if isinstance(key_id, str) else None
        if found is None:
            raise codecs.undecodable(envelope, f"this codec has no such key (it has {', '.join(self.key_ids)})")
        from cryptography.exceptions import InvalidTag

        try:
            nonce, data = _unb64(envelope.get("nonce")), _unb64(envelope.get("data"))
            plain = found[0].decrypt(nonce, data, _associated(str(key_id)))
        except (ValueError, InvalidTag) as exc:
            raise codecs.undecodable(
                envelope, "its data does not authenticate: it was altered or is malformed"
            ) from exc
        return payloads.parse(plain.decode())


def from_spec(spec: str) -> AesGcmCodec:
    """A codec from ``id=key,id=key`` (keys in base64url, 32 bytes each); the last key is the current one.

    The form ``tether server --codec-keys`` and ``TETHER_CODEC_KEYS`` take.

    Raises:
        UsageError: the text is not in that form, or a key is not 32 bytes.
    """
    keys: dict[str, bytes] = {}
    for part in spec.split(","):
        key_id, sep, text = part.strip().partition("=")
        if not sep or not key_id:
            raise UsageError("codec keys are given as id=base64url-key,id=base64url-key (the last one is current)")
        try:
            keys[key_id] = _unb64(text)
        except ValueError as exc:
            raise UsageError(f"codec key {key_id!r} is not base64url") from exc
    return AesGcmCodec(keys, current=list(keys)[-1])


def _associated(key_id: str) -> bytes:
    return b"tether/aes-gcm\x00" + key_id.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not a string")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(str(exc)) from exc
