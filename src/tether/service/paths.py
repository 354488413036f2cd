"""The last parameter of an API path: the rest of the path, whole, as an execution id or a token.

Starlette's ``:path`` stops at a line break (its pattern is ``.*``), so an id holding one fell
through to no route at all (404 ``not_found``) instead of reaching the route that names it.
"""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class _Rest(Convertor[str]):
    regex = "(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("rest", _Rest())

EXECUTION_ID = "{execution_id:rest}"
"""The execution id, last in the path and whole: it may hold '/' and line breaks."""

SCHEDULE_ID = "{schedule_id:rest}"
"""A schedule id, last in the path and whole (after the action, for actions on it)."""

TOKEN = "{token:rest}"
"""A callback URL's token, last in the path and whole."""
