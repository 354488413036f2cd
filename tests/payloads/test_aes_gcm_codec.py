"""AesGcmCodec: payloads encrypted under key ids, decoded with any known key, refused when unknown or altered."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

import tether
from tether.errors import UndecodablePayload, UsageError
from tether.model import aes_gcm

K1, K2 = os.urandom(32), os.urandom(32)
VALUE = {"name": "ana", "email": "ana@example.com", "items": [1, 2.5, None, True]}


def _flip(text: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    raw[-1] ^= 1
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def test_a_payload_becomes_an_envelope_naming_its_encoding_and_key_and_decodes_back() -> None:
    codec = tether.AesGcmCodec({"k1": K1}, current="k1")
    envelope = codec.encode(VALUE)
    assert set(envelope) == {"tether/encoding", "key", "nonce", "data"}
    assert envelope["tether/encoding"] == "aes-gcm"
    assert envelope["key"] == "k1"
    assert "ana" not in str(envelope)
    assert len(base64.urlsafe_b64decode(envelope["nonce"] + "==")) == 12
    assert codec.decode(envelope) == VALUE


def test_equal_values_encrypt_equally_and_different_ones_differently() -> None:
    codec = tether.AesGcmCodec({"k1": K1}, current="k1")
    assert codec.encode(VALUE) == codec.encode(dict(VALUE))
    assert codec.encode("a")["nonce"] != codec.encode("b")["nonce"]


def test_after_rotation_new_payloads_use_the_current_key_and_old_ones_still_decode() -> None:
    old = tether.AesGcmCodec({"k1": K1}, current="k1").encode(VALUE)
    rotated = tether.AesGcmCodec({"k1": K1, "k2": K2}, current="k2")
    assert rotated.encode(VALUE)["key"] == "k2"
    assert rotated.decode(old) == VALUE


def test_an_unknown_key_id_is_refused_naming_it() -> None:
    old = tether.AesGcmCodec({"k1": K1}, current="k1").encode(VALUE)
    with pytest.raises(UndecodablePayload) as refused:
        tether.AesGcmCodec({"k2": K2}, current="k2").decode(old)
    assert refused.value.encoding == "aes-gcm"
    assert refused.value.key == "k1"
    assert "encoded (aes-gcm, key k1)" in refused.value.message
    assert "k2" in refused.value.message


@pytest.mark.parametrize("field", ["data", "nonce"])
def test_altered_data_or_nonce_is_refused(field: str) -> None:
    codec = tether.AesGcmCodec({"k1": K1}, current="k1")
    envelope = codec.encode(VALUE)
    envelope[field] = _flip(envelope[field])
    with pytest.raises(UndecodablePayload, match="altered"):
        codec.decode(envelope)


def test_a_payload_relabelled_with_another_known_key_id_is_refused() -> None:
    same_key_twice = tether.AesGcmCodec({"k1": K1, "k2": K1}, current="k1")
    envelope = same_key_twice.encode(VALUE)
    with pytest.raises(UndecodablePayload, match="altered"):
        same_key_twice.decode({**envelope, "key": "k2"})  # the key id is authenticated with the data


def test_malformed_envelopes_and_other_encodings_are_refused() -> None:
    codec = tether.AesGcmCodec({"k1": K1}, current="k1")
    with pytest.raises(UndecodablePayload, match="altered or is malformed"):
        codec.decode({"tether/encoding": "aes-gcm", "key": "k1", "nonce": 3, "data": "x"})
    with pytest.raises(UndecodablePayload, match="decodes aes-gcm only"):
        codec.decode({"tether/encoding": "rot13", "data": "nyy"})
    assert codec.decode({"plain": "value"}) == {"plain": "value"}  # written before the codec: taken as it is


@pytest.mark.parametrize(
    ("keys", "current", "message"),
    [
        ({}, "k1", "at least one key"),
        ({"k1": K1}, "k2", "not one of the key ids"),
        ({"k1": b"short"}, "k1", "32 bytes"),
        ({"": K1}, "", "non-empty"),
    ],
)
def test_keys_that_cannot_be_used_are_refused_at_construction(
    keys: dict[str, bytes], current: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        tether.AesGcmCodec(keys, current=current)


def test_keys_given_as_text_take_the_last_one_as_current() -> None:
    text = ",".join(
        f"{kid}={base64.urlsafe_b64encode(key).decode().rstrip('=')}" for kid, key in (("k1", K1), ("k2", K2))
    )
    codec = aes_gcm.from_spec(text)
    assert codec.current == "k2"
    assert codec.key_ids == ["k1", "k2"]
    with pytest.raises(UsageError, match="id=base64url-key"):
        aes_gcm.from_spec("no-equals-sign")


def test_importing_tether_does_not_import_cryptography() -> None:
    code = "import sys, tether; print('cryptography' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )
