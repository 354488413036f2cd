"""PostgreSQL queries of the links between executions: the runs of a continued execution, parents and children.

A link is written once, by the transition that creates the run or starts the child (or
attaches an existing execution to a parent), under the lock of the execution it links.
"""

from __future__ import annotations

from tether.store.postgres.held import LINK_COLUMNS as _LINK_COLUMNS
from tether.store.postgres.locks import PostgresLocks
from tether.store.rows import LinkRow


class PostgresLinks(PostgresLocks):
    """The link queries of a PostgreSQL transaction."""

    def insert_link(self, row: LinkRow) -> None:  # noqa: D102
        self._send(
            "INSERT INTO execution_links (id, chain_id, run, parent_id, parent_ref, parent_close) "
            "VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO UPDATE SET chain_id = excluded.chain_id, run = excluded.run, "
            "parent_id = excluded.parent_id, parent_ref = excluded.parent_ref, parent_close = excluded.parent_close",
            (row.id, row.chain_id, row.run, row.parent_id, row.parent_ref, row.parent_close),
        )
        self.known.forget_link(row.id)

    def mark_parent(self, execution_id: str) -> None:  # noqa: D102
        self._send(
            "INSERT INTO execution_links (id, run, has_children) VALUES (%s, 1, true) "
            "ON CONFLICT (id) DO UPDATE SET has_children = true",
            (execution_id,),
        )
        self.known.forget_link(execution_id)

    def get_link(self, execution_id: str) -> LinkRow | None:  # noqa: D102
        if self.known.knows_link(execution_id):
            return self.known.link(execution_id)  # read behind the lock, with the execution
        row = self._one(f"SELECT {_LINK_COLUMNS} FROM execution_links WHERE id = %s", (execution_id,))
        return LinkRow(*row) if row is not None else None

    def latest_run_id(self, chain_id: str) -> str | None:  # noqa: D102
        row = self._one("SELECT id FROM execution_links WHERE chain_id = %s ORDER BY run DESC LIMIT 1", (chain_id,))
        return str(row[0]) if row is not None else None

    def children_of(self, parent_id: str) -> list[LinkRow]:  # noqa: D102
        rows = self._all(
            f"SELECT {_LINK_COLUMNS} FROM execution_links WHERE parent_id = %s ORDER BY parent_ref", (parent_id,)
        )
        return [LinkRow(*row) for row in rows]
