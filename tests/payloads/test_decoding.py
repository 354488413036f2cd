"""Decoding a payload gives what pydantic gives, on the shortcuts for plain values too."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.errors import InvalidPayload
from tether.model import payloads

CASES: list[tuple[str, Any]] = [
    ("1", int), ("1.0", int), ('"1"', int), ("true", int), ("1", float), ("1.5", float), ("1e400", float),
    ('"x"', str), ("1", str), ("true", bool), ("1", bool), ("null", int), ('"\\ud800"', str),
    ("[1, 2]", list[int]), ('{"a": 1}', dict[str, int]), ("12345678901234567890123", int),
]  # fmt: skip


def _pydantic(text: str, annotation: Any) -> tuple[bool, Any]:
    try:
        return True, payloads._adapter(annotation).validate_json(text)
    except Exception as exc:
        return False, type(exc)


@pytest.mark.parametrize(("text", "annotation"), CASES)
def test_decode_agrees_with_pydantic(text: str, annotation: Any) -> None:
    ok, expected = _pydantic(text, annotation)
    if ok:
        got = payloads.decode(text, annotation)
        assert (type(got), got) == (type(expected), expected)
    else:
        with pytest.raises(InvalidPayload):
            payloads.decode(text, annotation)


@pytest.mark.parametrize(("text", "annotation"), CASES)
def test_decode_value_agrees_with_decoding_its_text(text: str, annotation: Any) -> None:
    value = json.loads(text)
    try:
        expected = payloads.decode(payloads.json_text(value), annotation)
    except Exception as exc:
        with pytest.raises(type(exc)):
            payloads.decode_value(value, annotation)
    else:
        got = payloads.decode_value(value, annotation)
        assert (type(got), got) == (type(expected), expected)


@pytest.mark.parametrize(
    "text", ["[1, 2.5, -0.0]", '{"a": [null, true]}', '"\\ud800"', "1e400", "123456789012345678901234"]
)
def test_parse_reads_what_json_reads(text: str) -> None:
    assert repr(payloads.parse(text)) == repr(json.loads(text))


def test_parse_refuses_what_is_not_json() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        payloads.parse("[1,")


def test_decode_args_validates_only_what_needs_it() -> None:
    args = payloads.decode_args('[1, "2", {"k": 3}]', [int, int, Any])
    assert args == [1, 2, {"k": 3}]
    with pytest.raises(InvalidPayload, match=r"arguments\[1\]"):
        payloads.decode_args('[1, "x"]', [int, int])
