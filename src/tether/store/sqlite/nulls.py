"""Statements that write NULL into their text where a parameter would be None.

The sqlite3 module binds None only after looking for an adapter for it and failing (two
attribute lookups that raise and clear an exception inside the module): about 3,000 CPU
instructions a parameter, several times the cost of binding a number. An activity row
inserted with its seven empty columns as parameters paid that on every workflow step.
A statement per pattern of empty columns is prepared once and kept in the connection's
statement cache.
"""

from __future__ import annotations

import functools
import operator
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

# Which values are None, and those that are not, found by C code (map and filter over
# operator's functions) rather than a comprehension: its loop runs a few bytecodes a
# value, and an activity row has twenty values, written on every workflow step.
_IS_NONE = functools.partial(operator.is_, None)
_IS_NOT_NONE = functools.partial(operator.is_not, None)


def insert(conn: sqlite3.Connection, head: str, values: Sequence[Any], tail: str = "") -> sqlite3.Cursor:
    """Run ``head VALUES (...) tail`` for one row; ``head`` names the table and every column."""
    nulls = tuple(map(_IS_NONE, values))
    return conn.execute(_values_sql(head, nulls, tail), [*filter(_IS_NOT_NONE, values)] if True in nulls else values)


def insert_many(conn: sqlite3.Connection, head: str, rows: Iterable[Sequence[Any]]) -> None:
    """Run ``head VALUES (...)`` for rows whose order does not matter (grouped by their empty columns)."""
    groups: dict[tuple[bool, ...], list[Sequence[Any]]] = {}
    for values in rows:
        nulls = tuple(map(_IS_NONE, values))
        groups.setdefault(nulls, []).append([*filter(_IS_NOT_NONE, values)] if True in nulls else values)
    for nulls, params in groups.items():
        conn.executemany(_values_sql(head, nulls, ""), params)


def update_sql(table: str, names: Sequence[str], values: Sequence[Any], where: str) -> tuple[str, list[Any]]:
    """The UPDATE setting ``names`` to ``values`` (None as NULL) and its parameters, before the key's."""
    nulls = tuple(map(_IS_NONE, values))
    return _update_sql(table, tuple(names), nulls, where), [*filter(_IS_NOT_NONE, values)]


@functools.lru_cache(maxsize=256)
def _values_sql(head: str, nulls: tuple[bool, ...], tail: str) -> str:
    return f"{head} VALUES ({','.join('NULL' if null else '?' for null in nulls)}){tail}"


@functools.lru_cache(maxsize=256)
def _update_sql(table: str, names: tuple[str, ...], nulls: tuple[bool, ...], where: str) -> str:
    pairs = zip(names, nulls, strict=True)
    assignments = ", ".join(f"{name} = NULL" if null else f"{name} = ?" for name, null in pairs)
    return f"UPDATE {table} SET {assignments} WHERE {where}"
