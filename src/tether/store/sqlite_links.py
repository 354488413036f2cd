"""SQLite queries of the links between executions: the runs of a continued execution, parents and children."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from tether.store.base import LinkRow

_LINK_COLUMNS = "id, chain_id, run, parent_id, parent_ref, parent_close"


class LinkQueries:
    """The part of :class:`~tether.store.sqlite_transaction.SQLiteTransaction` about execution links."""

    _conn: sqlite3.Connection
    _write: Callable[[], None]

    def insert_link(self, row: LinkRow) -> None:  # noqa: D102
        self._write()
        self._conn.execute(
            f"INSERT OR REPLACE INTO execution_links ({_LINK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (row.id, row.chain_id, row.run, row.parent_id, row.parent_ref, row.parent_close),
        )

    def get_link(self, execution_id: str) -> LinkRow | None:  # noqa: D102
        row = self._conn.execute(
            f"SELECT {_LINK_COLUMNS} FROM execution_links WHERE id = ?", (execution_id,)
        ).fetchone()
        return LinkRow(*row) if row is not None else None

    def latest_run_id(self, chain_id: str) -> str | None:  # noqa: D102
        row = self._conn.execute(
            "SELECT id FROM execution_links WHERE chain_id = ? ORDER BY run DESC LIMIT 1", (chain_id,)
        ).fetchone()
        return str(row[0]) if row is not None else None

    def children_of(self, parent_id: str) -> list[LinkRow]:  # noqa: D102
        rows = self._conn.execute(
            f"SELECT {_LINK_COLUMNS} FROM execution_links WHERE parent_id = ? ORDER BY parent_ref", (parent_id,)
        ).fetchall()
        return [LinkRow(*row) for row in rows]
