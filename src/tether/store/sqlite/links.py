"""SQLite queries of the links between executions: the runs of a continued execution, parents and children."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from tether.store.rows import LinkRow

LINK_COLUMNS = "id, chain_id, run, parent_id, parent_ref, parent_close, has_children"


class LinkQueries:
    """The part of :class:`~tether.store.sqlite.transaction.SQLiteTransaction` about execution links."""

    _conn: sqlite3.Connection
    _write: Callable[[], None]
    _links: dict[str, LinkRow | None]
    """Links read with their executions in this transition (see SQLiteTransaction)."""

    def insert_link(self, row: LinkRow) -> None:  # noqa: D102
        self._write()
        self._links.pop(row.id, None)
        self._conn.execute(
            "INSERT INTO execution_links (id, chain_id, run, parent_id, parent_ref, parent_close) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET chain_id = excluded.chain_id, "
            "run = excluded.run, parent_id = excluded.parent_id, parent_ref = excluded.parent_ref, "
            "parent_close = excluded.parent_close",
            (row.id, row.chain_id, row.run, row.parent_id, row.parent_ref, row.parent_close),
        )

    def mark_parent(self, execution_id: str) -> None:  # noqa: D102
        self._write()
        self._links.pop(execution_id, None)
        self._conn.execute(
            "INSERT INTO execution_links (id, run, has_children) VALUES (?, 1, 1) "
            "ON CONFLICT (id) DO UPDATE SET has_children = 1",
            (execution_id,),
        )

    def get_link(self, execution_id: str) -> LinkRow | None:  # noqa: D102
        if execution_id in self._links:
            return self._links[execution_id]
        row = self._conn.execute(f"SELECT {LINK_COLUMNS} FROM execution_links WHERE id = ?", (execution_id,)).fetchone()
        return link(row) if row is not None else None

    def latest_run_id(self, chain_id: str) -> str | None:  # noqa: D102
        row = self._conn.execute(
            "SELECT id FROM execution_links WHERE chain_id = ? ORDER BY run DESC LIMIT 1", (chain_id,)
        ).fetchone()
        return str(row[0]) if row is not None else None

    def children_of(self, parent_id: str) -> list[LinkRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {LINK_COLUMNS} FROM execution_links WHERE parent_id = ? ORDER BY parent_ref", (parent_id,)
        ).fetchall()
        return [link(row) for row in rows]


def link(row: Sequence[Any]) -> LinkRow:
    """A link from its columns as LINK_COLUMNS names them."""
    return LinkRow(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))
