"""The store's records on PostgreSQL: one row a record in ``ytqa_records``.

    ytqa_records (kind, key, body jsonb, updated)    primary key (kind, key)

A change is one transaction: the row is made if missing (``INSERT ... ON CONFLICT DO
NOTHING``, so two first writers queue on it), locked (``SELECT ... FOR UPDATE``), changed
and written, or the transaction rolled back whole when the change fails. A row whose body
is SQL NULL is no record (a first write that was rolled back leaves none).
"""

from __future__ import annotations

import json
from typing import Callable

from ._errors import YtqaError
from ._store import valid_key

TABLE = "ytqa_records"


def create_table(conn, table: str) -> None:
    """The records table (``table``: its qualified name), inside the schema's transaction."""
    conn.execute(f"""CREATE TABLE IF NOT EXISTS {table} (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        body JSONB,
        updated TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, key))""")


class PgRecords:
    """``Records`` of one kind in a ``PostgresStore``'s records table."""

    def __init__(self, store, kind: str):
        self.store, self.kind = store, kind
        self.table = store._t(TABLE)

    def _checked(self, key: str) -> str:
        if not valid_key(key):
            from ._transcript import clean_text

            noun = "collection" if self.kind == "collections" else "record"
            raise YtqaError(f"{clean_text(repr(key))[:80]} is not a {noun} key (letters, digits, _ . @ -).")
        return key

    def where(self, key: str) -> str:
        return f"{self.kind} {key} (a row of {TABLE} in {self.store.location})"

    def get(self, key: str):
        with self.store._connection() as conn:
            row = conn.execute(f"SELECT body FROM {self.table} WHERE kind = %s AND key = %s",
                               (self.kind, self._checked(key))).fetchone()
        return None if row is None else row[0]

    def update(self, key: str, change: Callable):
        self._checked(key)
        with self.store._connection() as conn, conn.transaction():
            conn.execute(f"INSERT INTO {self.table} (kind, key) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                         (self.kind, key))
            before = conn.execute(f"SELECT body FROM {self.table} WHERE kind = %s AND key = %s FOR UPDATE",
                                  (self.kind, key)).fetchone()[0]
            after = change(before)
            if after is None:
                conn.execute(f"DELETE FROM {self.table} WHERE kind = %s AND key = %s", (self.kind, key))
            else:
                conn.execute(f"UPDATE {self.table} SET body = %s::jsonb, updated = now() "
                             "WHERE kind = %s AND key = %s",
                             (json.dumps(after, ensure_ascii=False), self.kind, key))
            return after

    def keys(self) -> list[str]:
        with self.store._connection() as conn:
            return [row[0] for row in conn.execute(
                f"SELECT key FROM {self.table} WHERE kind = %s AND body IS NOT NULL ORDER BY key", (self.kind,))]

    def remove(self, key: str) -> None:
        with self.store._connection() as conn:
            conn.execute(f"DELETE FROM {self.table} WHERE kind = %s AND key = %s", (self.kind, self._checked(key)))
