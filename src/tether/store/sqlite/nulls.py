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
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any


def insert(conn: sqlite3.Connection, head: str, values: Sequence[Any]) -> None:
    """Run ``head VALUES (...)`` for one row; ``head`` names the table and every column."""
    # A list made in one frame, not a generator resumed per value: on every write of a step.
    nulls = tuple([v is None for v in values])
    conn.execute(_values_sql(head, nulls), [v for v in values if v is not None] if True in nulls else values)


def insert_many(conn: sqlite3.Connection, head: str, rows: Iterable[Sequence[Any]]) -> None:
    """Run ``head VALUES (...)`` for rows whose order does not matter (grouped by their empty columns)."""
    groups: dict[tuple[bool, ...], list[Sequence[Any]]] = {}
    for values in rows:
        nulls = tuple([v is None for v in values])
        groups.setdefault(nulls, []).append([v for v in values if v is not None] if True in nulls else values)
    for nulls, params in groups.items():
        conn.executemany(_values_sql(head, nulls), params)


def update_sql(table: str, names: Sequence[str], values: Sequence[Any], where: str) -> tuple[str, list[Any]]:
    """The UPDATE setting ``names`` to ``values`` (None as NULL) and its parameters, before the key's."""
    nulls = tuple([v is None for v in values])
    return _update_sql(table, tuple(names), nulls, where), [v for v in values if v is not None]


@functools.lru_cache(maxsize=256)
def _values_sql(head: str, nulls: tuple[bool, ...]) -> str:
    return f"{head} VALUES ({','.join('NULL' if null else '?' for null in nulls)})"


@functools.lru_cache(maxsize=256)
def _update_sql(table: str, names: tuple[str, ...], nulls: tuple[bool, ...], where: str) -> str:
    pairs = zip(names, nulls, strict=True)
    assignments = ", ".join(f"{name} = NULL" if null else f"{name} = ?" for name, null in pairs)
    return f"UPDATE {table} SET {assignments} WHERE {where}"
