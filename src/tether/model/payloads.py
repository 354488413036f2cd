"""JSON payloads: encoding user values, decoding them to declared types, checking schemas."""

from __future__ import annotations

import datetime
import functools
import inspect
import json
import typing
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any

import jsonschema
import pydantic
import pydantic_core
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema
from typing_extensions import TypeAliasType

from tether.errors import InvalidPayload

_JSON_SCHEMA: Any = TypeAliasType(  # a value here: the type it names is JSONValue, in schemas only
    "JSONValue",
    "dict[str, _JSON_SCHEMA] | list[_JSON_SCHEMA] | str | float | bool | None",
)
"""The recursive type whose schema documents a JSON value (a number covers the integers)."""


class _AnyJSON:
    """Validates as anything (the value is the caller's), documented as the named, recursive JSONValue schema."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: pydantic.GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.any_schema()

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: pydantic.GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(pydantic.TypeAdapter(_JSON_SCHEMA).core_schema)


JSONValue = Annotated[Any, _AnyJSON]
"""Any JSON value: what user payloads are on the wire and in the store (``JSONValue`` in the OpenAPI document)."""

ENVELOPE = "tether/encoding"
"""The key that marks a JSON object as an encoded payload (``tether.model.codecs``); its value names the encoding."""


def is_encoded(value: object) -> bool:
    """Whether ``value`` is an encoded payload: an envelope only a codec holder reads."""
    return type(value) is dict and ENVELOPE in value


def encode(value: object, *, what: str = "value") -> str:
    """Serialise a user value (pydantic models, dataclasses and JSON types) to JSON text.

    Raises:
        InvalidPayload: the value cannot be represented as JSON.
    """
    try:
        text = pydantic_core.to_json(value)
    except (pydantic_core.PydanticSerializationError, TypeError, ValueError) as exc:
        raise InvalidPayload(
            f"{what} cannot be serialised to JSON: {exc}",
            errors=[{"loc": [what], "msg": str(exc)}],
        ) from exc
    decoded = text.decode()
    # Searched in the str: ``bytes in bytes`` first tries (and fails) to read its operand as an int.
    if ("Infinity" in decoded or "NaN" in decoded) and _has_non_finite(text):
        # JSON has no infinities or NaN: other languages, and the HTTP API, could not read them back.
        raise InvalidPayload(
            f"{what} holds an infinite or NaN number, which JSON cannot represent",
            errors=[{"loc": [what], "msg": "infinite or NaN number"}],
        )
    return decoded


def _non_finite(token: str) -> float:
    raise ValueError(token)


def _has_non_finite(text: bytes) -> bool:
    try:
        json.loads(text, parse_constant=_non_finite)
    except ValueError:
        return True
    return False


def json_text(value: JSONValue) -> str:
    """Compact JSON text of a plain JSON value (one already made of dicts, lists and scalars)."""
    return pydantic_core.to_json(value).decode()


def parse(text: str) -> JSONValue:
    """Parse JSON text to plain values, as ``json.loads`` does, with pydantic's faster parser.

    Raises:
        ValueError: the text is not JSON.
    """
    try:
        return pydantic_core.from_json(text)
    except ValueError:
        # What pydantic refuses and the json module reads (escaped lone surrogates), or not JSON at all.
        return json.loads(text)


def to_jsonable(value: object, *, what: str = "value") -> JSONValue:
    """The plain JSON form (dicts, lists, scalars) of a user value."""
    return parse(encode(value, what=what))


@functools.lru_cache(maxsize=1024)
def _adapter(annotation: Any) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(annotation)


def decode(text: str | None, annotation: Any = Any, *, what: str = "value") -> Any:
    """Parse JSON text and validate it as ``annotation`` (``Any`` keeps plain JSON).

    Raises:
        InvalidPayload: the text is not JSON or does not match the type.
    """
    if text is None:
        return None
    if annotation is Any or annotation is inspect.Parameter.empty:
        return parse(text)
    if annotation in _SCALARS:  # a tuple: annotations need not be hashable
        try:
            value = pydantic_core.from_json(text)
        except ValueError:
            pass  # the adapter's error, below, says what is wrong
        else:
            if type(value) is annotation:
                return value
    try:
        return _adapter(annotation).validate_json(text)
    except pydantic.ValidationError as exc:
        raise InvalidPayload(f"{what} does not match {_type_name(annotation)}: {exc}", errors=exc.errors()) from exc


_SCALARS = (int, float, str, bool)
"""Types whose JSON value of exactly that type is already the decoded value (pydantic returns it as is)."""


def decode_value(value: JSONValue, annotation: Any = Any, *, what: str = "value") -> Any:
    """Validate a plain JSON value (one the caller owns) as ``annotation``, like :func:`decode`.

    Raises:
        InvalidPayload: the value does not match the type.
    """
    if as_is(value, annotation):
        return value
    return decode(json_text(value), annotation, what=what)


def as_is(value: object, annotation: Any) -> bool:
    """Whether ``value`` already is what decoding its JSON as ``annotation`` would give (no check needed)."""
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    if type(value) is not annotation or annotation not in _SCALARS:
        return False
    # A string that is not ASCII goes the long way: it may hold lone surrogates, which pydantic refuses.
    return not isinstance(value, str) or value.isascii()


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", None) or repr(annotation)


def schema_of(annotation: Any) -> dict[str, Any] | None:
    """The JSON schema a value must match to be decoded as ``annotation``, if it constrains anything."""
    if annotation is Any or annotation is inspect.Parameter.empty or annotation is None or annotation is type(None):
        return None if annotation is not None and annotation is not type(None) else {"type": "null"}
    try:
        return _adapter(annotation).json_schema()
    except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticInvalidForJsonSchema, TypeError):
        return None


def _format_checker() -> jsonschema.FormatChecker:
    """Formats pydantic writes into schemas, checked the way pydantic parses them."""
    checker = jsonschema.FormatChecker()
    for name, annotation in (
        ("date-time", datetime.datetime),
        ("date", datetime.date),
        ("time", datetime.time),
        ("duration", datetime.timedelta),
        ("uuid", uuid.UUID),
    ):
        adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(annotation)

        def check(value: object, adapter: pydantic.TypeAdapter[Any] = adapter) -> bool:
            if not isinstance(value, str):
                return True  # formats constrain strings only
            adapter.validate_python(value)
            return True

        checker.checks(name, raises=(pydantic.ValidationError, ValueError))(check)
    return checker


_FORMATS = _format_checker()


@functools.lru_cache(maxsize=1024)
def _validator(schema_text: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_text)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, format_checker=_FORMATS)


# Values a schema that says only ``{"type": ...}`` surely accepts (others go to the validator,
# which also accepts 1.0 as an integer, and words the refusals).
_SURELY_OF_TYPE: dict[str, Callable[[object], bool]] = {
    "integer": lambda value: type(value) is int,
    "string": lambda value: type(value) is str,
    "number": lambda value: type(value) is int or type(value) is float,
    "boolean": lambda value: type(value) is bool,
    "null": lambda value: value is None,
}
_CHECKS_BY_IDENTITY: dict[
    int, tuple[dict[str, Any], jsonschema.protocols.Validator, Callable[[object], bool] | None]
] = {}


def _checks(schema: dict[str, Any]) -> tuple[jsonschema.protocols.Validator, Callable[[object], bool] | None]:
    """The validator of a schema, and a quick check of what it surely accepts, if it has one.

    Kept by the schema dictionary's identity (parsed activity options keep theirs), which
    saves serialising it to find its validator on every call; the entry holds the dictionary,
    so that its id is not reused while it is kept.
    """
    found = _CHECKS_BY_IDENTITY.get(id(schema))
    if found is not None and found[0] is schema:
        return found[1], found[2]
    validator = _validator(json.dumps(schema, sort_keys=True))
    kind = schema.get("type") if len(schema) == 1 else None
    surely = _SURELY_OF_TYPE.get(kind) if isinstance(kind, str) else None
    if len(_CHECKS_BY_IDENTITY) >= 1024:
        _CHECKS_BY_IDENTITY.clear()
    _CHECKS_BY_IDENTITY[id(schema)] = (schema, validator, surely)
    return validator, surely


def check_schema(value_text: str, schema: dict[str, Any] | None, *, what: str = "result") -> None:
    """Check JSON text against a stored schema; an encoded payload passes (its codec holder checks it).

    Raises:
        InvalidPayload: naming each field that does not match.
    """
    if schema is None:
        return
    value = parse(value_text)
    if is_encoded(value):
        return  # ciphertext: the worker that decodes it checks it against the declared type
    validator, surely = _checks(schema)
    if surely is not None and surely(value):
        return
    problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if problems:
        errors = [
            {"loc": [what, *e.absolute_path, *_missing(e)], "msg": e.message, "type": str(e.validator)}
            for e in problems
        ]
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidPayload(f"{what} does not match the declared type at {where}: {first['msg']}", errors=errors)


def _missing(error: jsonschema.ValidationError) -> list[str]:
    """The property a ``required`` error is about, so that its location names the missing field."""
    if error.validator != "required" or not isinstance(error.validator_value, list):
        return []
    return [name for name in error.validator_value if error.message.startswith(f"{name!r} ")][:1]


def type_hints(fn: Callable[..., Any]) -> tuple[list[Any], Any]:
    """The annotated parameter types (positional order) and return type of ``fn``.

    Unannotated parameters and returns come back as ``Any``.
    """
    try:
        hints = typing.get_type_hints(fn)
    except (NameError, TypeError):
        hints = {}
    params = [
        hints.get(p.name, Any)
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return params, hints.get("return", Any)


def encode_args(args: Sequence[object], *, what: str = "arguments") -> str:
    """Serialise positional arguments as a JSON list."""
    return encode(list(args), what=what)


def decode_args(text: str, param_types: list[Any], *, what: str = "arguments") -> list[Any]:
    """Decode a JSON argument list, validating each one against its parameter's type."""
    raw = parse(text)
    out: list[Any] = []
    for index, item in enumerate(raw):
        annotation = param_types[index] if index < len(param_types) else Any
        out.append(item if as_is(item, annotation) else decode_value(item, annotation, what=f"{what}[{index}]"))
    return out
