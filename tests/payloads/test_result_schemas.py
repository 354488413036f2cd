"""A result is checked against its declared type's JSON schema: the same verdict however the check is made."""

from __future__ import annotations

import json
from typing import Any

import pydantic
import pytest

from tether.errors import InvalidPayload
from tether.model import payloads

CASES: list[tuple[Any, object, bool]] = [
    (int, 1, True),
    (int, True, False),  # a boolean is no integer
    (int, 1.0, True),  # JSON Schema's integer includes 1.0
    (int, 1.5, False),
    (int, "1", False),
    (float, 1, True),
    (float, 1.5, True),
    (float, False, False),
    (str, "a", True),
    (str, 1, False),
    (bool, True, True),
    (bool, 1, False),
    (type(None), None, True),
    (type(None), 0, False),
    (pydantic.conint(ge=5), 7, True),
    (pydantic.conint(ge=5), 3, False),  # more than a type: the whole schema decides
    (list[int], [1, 2], True),
    (list[int], [1, "2"], False),
]


def verdict(schema: dict[str, Any], value: object) -> bool:
    try:
        payloads.check_schema(json.dumps(value), schema)
    except InvalidPayload:
        return False
    return True


@pytest.mark.parametrize(("declared", "value", "accepted"), CASES)
def test_a_result_is_accepted_exactly_when_its_schema_says_so(declared: Any, value: object, accepted: bool) -> None:
    schema = pydantic.TypeAdapter(declared).json_schema()

    assert verdict(schema, value) is accepted
    assert verdict(schema, value) is accepted  # again, from what was kept of the schema
    assert verdict(json.loads(json.dumps(schema)), value) is accepted  # an equal schema, another dict


def test_a_refusal_names_where_and_why_the_value_does_not_match() -> None:
    schema = pydantic.TypeAdapter(int).json_schema()
    payloads.check_schema("1", schema)  # kept, with its quick check

    with pytest.raises(InvalidPayload) as refused:
        payloads.check_schema("true", schema)

    assert "result does not match the declared type" in str(refused.value)
    assert refused.value.errors == [{"loc": ["result"], "msg": "True is not of type 'integer'", "type": "type"}]
