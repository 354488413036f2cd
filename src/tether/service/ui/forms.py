"""Forms for completing an activity by hand, built from the JSON schema of its declared result type.

An object of plain fields (text, numbers, yes/no, dates, choices) becomes one input each;
anything else (nested models, lists, no declared type) is typed as JSON. Values are converted
only as far as the input's kind says: whether they fit the type is for the engine's schema
check, whose errors name the fields the form shows them next to. An input left empty is no
value at all (not ``""``): an optional field then takes its default, a field that accepts
null gets null, and any other field is reported as required.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_INPUT_TYPES = {"date": "date", "date-time": "datetime-local", "time": "time", "email": "email", "uri": "url"}


@dataclass(frozen=True, slots=True)
class Field:
    """One input of the form."""

    name: str
    label: str
    kind: str
    """text | integer | number | boolean | choice | json"""
    required: bool
    """Whether the result must hold the field (a model field without a default, or the whole result)."""
    nullable: bool = False
    """Whether null is one of the values the type accepts (``X | None``, or no declared type)."""
    input_type: str = "text"
    choices: tuple[str, ...] = ()
    description: str = ""

    @property
    def needs_value(self) -> bool:
        """Whether an empty input is refused: the field is required and null will not do."""
        return self.required and not self.nullable


@dataclass(frozen=True, slots=True)
class Form:
    """The inputs, and whether they build an object (else the one input is the whole result)."""

    fields: tuple[Field, ...]
    is_object: bool


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})  # type: ignore[no-any-return]
    options = schema.get("anyOf")
    if isinstance(options, list):
        # Optional[X] is anyOf [X, null]: the form shows X and leaves the field optional.
        concrete = [o for o in options if isinstance(o, Mapping) and o.get("type") != "null"]
        if len(concrete) == 1:
            return _resolve(concrete[0], root)
    return schema


def _accepts_null(schema: Mapping[str, Any], root: Mapping[str, Any]) -> bool:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _accepts_null(_resolve(schema, root), root)
    options = schema.get("anyOf")
    if isinstance(options, list):
        return any(isinstance(o, Mapping) and _accepts_null(o, root) for o in options)
    kind = schema.get("type")
    if kind is None:
        return "enum" not in schema and "const" not in schema  # no declared type: anything, null included
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


def _field(name: str, schema: Mapping[str, Any], root: Mapping[str, Any], required: bool) -> Field:
    resolved = _resolve(schema, root)
    label = str(schema.get("title") or resolved.get("title") or name)
    description = str(schema.get("description") or resolved.get("description") or "")
    nullable = _accepts_null(schema, root)
    kind = resolved.get("type")

    def field(kind: str, input_type: str = "text", choices: tuple[str, ...] = (), about: str = description) -> Field:
        return Field(name, label, kind, required, nullable, input_type, choices, about)

    if isinstance(resolved.get("enum"), list) and all(isinstance(v, str) for v in resolved["enum"]):
        return field("choice", choices=tuple(resolved["enum"]))
    if kind == "string":
        return field("text", input_type=_INPUT_TYPES.get(str(resolved.get("format", "")), "text"))
    if kind in ("integer", "number"):
        return field(kind, input_type="number")
    if kind == "boolean":
        return field("boolean", input_type="checkbox")
    return field("json", about=description or "a JSON value")


def form_for(schema: Mapping[str, Any] | None) -> Form:
    """The form of a result type's schema (a JSON input when there is none)."""
    if not schema:
        return Form((Field("result", "result", "json", False, True, description="a JSON value"),), is_object=False)
    resolved = _resolve(schema, schema)
    properties = resolved.get("properties")
    if resolved.get("type") == "object" and isinstance(properties, Mapping) and properties:
        required = [name for name in resolved.get("required", ()) if name in properties]
        # Stored schemas may have their keys sorted; the required list keeps the declared order.
        names = [*required, *(name for name in properties if name not in required)]
        fields = tuple(_field(name, properties[name], schema, name in required) for name in names)
        return Form(fields, is_object=True)
    return Form((_field("result", schema, schema, True),), is_object=False)


class FormErrors(Exception):
    """Inputs that could not be read at all (malformed JSON), by field name."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _value(field: Field, raw: str | None) -> Any:
    if field.kind == "boolean":
        return raw is not None  # a checkbox left unticked is a value: false
    text = (raw or "").strip()
    if not text:  # any other input left blank holds no value, not ""
        if field.needs_value:
            raise FormErrors({field.name: "a value is required"})
        return None
    if field.kind in ("integer", "number"):
        try:
            return int(text) if field.kind == "integer" else float(text)
        except ValueError:
            return text  # left as typed: the schema check names the field
    if field.kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormErrors({field.name: f"not valid JSON: {exc.msg}"}) from exc
    if field.input_type == "datetime-local" and text and len(text) == 16:
        return f"{text}:00"  # browsers send minutes only
    return text


def read(form: Form, submitted: Mapping[str, str]) -> Any:
    """The result the submitted inputs describe.

    Raises:
        FormErrors: an input meant as JSON is not JSON, or a field that needs a value was left empty.
    """
    if not form.is_object:
        field = form.fields[0]
        return _value(field, submitted.get(field.name))
    result: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in form.fields:
        raw = submitted.get(field.name)
        if field.kind != "boolean" and not (raw or "").strip() and not field.required:
            continue  # an empty optional input: the field is left out (its default applies)
        try:
            result[field.name] = _value(field, raw)
        except FormErrors as exc:
            problems.update(exc.errors)
    if problems:
        raise FormErrors(problems)
    return result


def field_errors(errors: list[dict[str, Any]], form: Form) -> dict[str, str]:
    """Schema-check errors of a completion, by the form field they concern."""
    names = {f.name for f in form.fields}
    found: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", [])]
        inside = loc[1:] if loc and loc[0] == "result" else loc
        name = inside[0] if inside and form.is_object and inside[0] in names else form.fields[0].name
        if not form.is_object:
            name = form.fields[0].name
        found.setdefault(name, str(error.get("msg", "invalid")))
    return found
