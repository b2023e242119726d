"""The server store's queue of builds: one table, shared by every process on every machine.

    ytqa_builds   one row a build (``_queue.Build``'s fields; ``source`` as JSON text)

A claim takes the next row in the fair order with ``FOR UPDATE SKIP LOCKED`` (a row another
transaction is renewing or finishing is passed over, never waited for), inside a
transaction that holds the queue's advisory lock, so two claims never see the same counts
of running builds and the bound per person holds exactly. Times are the server's clock
(seconds since the epoch), so processes on machines whose clocks differ agree on leases.
A renewal or an end names its worker: once another process has taken a build over, the
first one's renewal finds nothing and it stops.

The connection comes from the store's pool (``PostgresStore._connection``): psycopg stays
the store's own.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Sequence

from ._errors import QueueDamaged, TooManyBuilds
from ._queue import MAX_ATTEMPTS, Bounds, Build, stopped_note

_COLUMNS = [f.name for f in fields(Build)]
_NOW = "extract(epoch from clock_timestamp())::double precision"


class PostgresQueue:
    def __init__(self, store, bounds: Bounds | None = None):
        self.store = store
        self.bounds = bounds or Bounds.from_config()
        self.table = store._t("ytqa_builds")
        with store._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('ytqa:schema', 0))")
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self.table} (
                id TEXT PRIMARY KEY, kind TEXT NOT NULL, video_id TEXT NOT NULL, model TEXT NOT NULL,
                source TEXT NOT NULL, person TEXT, created DOUBLE PRECISION NOT NULL,
                watched BOOLEAN NOT NULL, state TEXT NOT NULL, claimed_by TEXT,
                lease_until DOUBLE PRECISION NOT NULL, attempts INTEGER NOT NULL,
                claimed_at DOUBLE PRECISION NOT NULL,
                seen DOUBLE PRECISION NOT NULL, cancelled BOOLEAN NOT NULL, stage TEXT NOT NULL,
                done BIGINT NOT NULL, total BIGINT NOT NULL, result TEXT, error TEXT, error_kind TEXT,
                key TEXT NOT NULL)""")
            conn.execute(f"""CREATE UNIQUE INDEX IF NOT EXISTS ytqa_builds_active
                ON {self.table} (key) WHERE state IN ('waiting', 'running')""")
            conn.execute(f"CREATE INDEX IF NOT EXISTS ytqa_builds_state ON {self.table} (state, created)")
            conn.execute(f"CREATE INDEX IF NOT EXISTS ytqa_builds_key ON {self.table} (key, created)")

    def _serialised(self, conn) -> None:
        """This transaction decides alone who may queue and what is claimed next."""
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('ytqa:queue:' || %s, 0))",
                     (self.store.schema,))

    def _select(self, where: str = "TRUE") -> str:
        return f"SELECT {', '.join(_COLUMNS)} FROM {self.table} q WHERE {where}"

    def add(self, build: Build, bounded: bool = True, held: int = 0) -> Build:
        with self.store._connection() as conn, conn.transaction():
            self._serialised(conn)
            row = conn.execute(f"UPDATE {self.table} SET seen = {_NOW} WHERE key = %s AND state IN "
                               f"('waiting', 'running') RETURNING {', '.join(_COLUMNS)}", (build.key,)).fetchone()
            if row is not None:
                return _build(row)
            mine = conn.execute(f"SELECT count(*) FROM {self.table} WHERE state IN ('waiting', 'running') "
                                "AND coalesce(person, '') = %s", (build.person or "",)).fetchone()[0]
            if bounded and build.person is not None and mine + held >= self.bounds.queued:
                raise TooManyBuilds(self.bounds.queued)
            data = build.to_json() | {"source": json.dumps(build.source), "key": build.key}
            row = conn.execute(
                f"INSERT INTO {self.table} ({', '.join(_COLUMNS)}, key) VALUES "
                f"({', '.join('%(' + c + ')s' for c in _COLUMNS)}, %(key)s) RETURNING {', '.join(_COLUMNS)}",
                data).fetchone()
            return _build(row)

    def claim(self, worker: str, kinds: Sequence[str] | None = None) -> Build | None:
        with self.store._connection() as conn, conn.transaction():
            self._serialised(conn)
            while True:
                now, row = self._next(conn, kinds)
                if row is None:
                    return None
                build = _build(row)
                if build.stale(now, self.bounds.abandon_after):
                    self._set(conn, build.id, state="cancelled" if build.cancelled else "abandoned")
                elif build.attempts >= MAX_ATTEMPTS:
                    self._set(conn, build.id, state="failed", error=stopped_note(build.attempts))
                else:
                    row = conn.execute(
                        f"UPDATE {self.table} SET state = 'running', claimed_by = %s, lease_until = %s, "
                        "claimed_at = %s, "
                        "attempts = attempts + 1, stage = CASE WHEN state = 'waiting' THEN 'waiting' "
                        f"ELSE stage END WHERE id = %s RETURNING {', '.join(_COLUMNS)}",
                        (worker, now + self.bounds.lease, now, build.id)).fetchone()
                    return _build(row)

    def _next(self, conn, kinds: Sequence[str] | None):
        """The server's time and the next row in the fair order (locked, others' locked rows skipped)."""
        now = conn.execute(f"SELECT {_NOW}").fetchone()[0]
        row = conn.execute(
            f"""WITH running AS (SELECT coalesce(person, '') AS who, count(*) AS n FROM {self.table}
                    WHERE state = 'running' AND lease_until > %(now)s GROUP BY 1),
                served AS (SELECT coalesce(person, '') AS who, max(claimed_at) AS last FROM {self.table}
                    GROUP BY 1)
                SELECT {', '.join('q.' + c for c in _COLUMNS)} FROM {self.table} q
                LEFT JOIN running r ON r.who = coalesce(q.person, '')
                LEFT JOIN served s ON s.who = coalesce(q.person, '')
                WHERE (q.state = 'waiting' OR (q.state = 'running' AND q.lease_until <= %(now)s))
                  AND coalesce(r.n, 0) < %(bound)s AND (%(any)s OR q.kind = ANY(%(kinds)s))
                ORDER BY coalesce(r.n, 0), coalesce(s.last, 0), q.created, q.id
                LIMIT 1 FOR UPDATE OF q SKIP LOCKED""", {"now": now, "bound": self.bounds.running, "any": kinds is None,
                                        "kinds": list(kinds or ())}).fetchone()
        return now, row

    def _set(self, conn, build_id: str, **values) -> None:
        assignments = ", ".join(f"{name} = %({name})s" for name in values)
        conn.execute(f"UPDATE {self.table} SET {assignments} WHERE id = %(id)s", values | {"id": build_id})

    def renew(self, build_id: str, worker: str, stage: str | None = None, done: int = 0,
              total: int = 0) -> str | None:
        with self.store._connection() as conn, conn.transaction():
            row = conn.execute(self._select("id = %s AND state = 'running' AND claimed_by = %s FOR UPDATE"),
                               (build_id, worker)).fetchone()
            if row is None:
                return "lost"
            build = _build(row)
            now = conn.execute(f"SELECT {_NOW}").fetchone()[0]
            if build.stale(now, self.bounds.abandon_after):
                state = "cancelled" if build.cancelled else "abandoned"
                self._set(conn, build_id, state=state)
                return state
            progress = {} if stage is None else {"stage": stage, "done": done, "total": total}
            self._set(conn, build_id, lease_until=now + self.bounds.lease, **progress)
            return None

    def finish(self, build_id: str, worker: str, state: str, result: str | None = None,
               error: str | None = None, error_kind: str | None = None) -> bool:
        with self.store._connection() as conn:
            row = conn.execute(
                f"UPDATE {self.table} SET state = %s, result = %s, error = %s, error_kind = %s "
                "WHERE id = %s AND claimed_by = %s AND state = 'running' RETURNING id",
                (state, result, error, error_kind, build_id, worker)).fetchone()
            self._forget_old(conn)
            return row is not None

    def _forget_old(self, conn) -> None:
        from ._queue import KEEP_ENDED

        conn.execute(f"""DELETE FROM {self.table} WHERE id IN (SELECT id FROM {self.table}
            WHERE state NOT IN ('waiting', 'running') ORDER BY created DESC OFFSET %s)""", (KEEP_ENDED,))

    def get(self, build_id: str) -> Build | None:
        with self.store._connection() as conn:
            row = conn.execute(self._select("id = %s"), (build_id,)).fetchone()
        return _build(row) if row else None

    def find(self, key: str) -> Build | None:
        with self.store._connection() as conn:
            row = conn.execute(self._select("key = %s") + " ORDER BY state IN ('waiting', 'running') DESC, "
                               "created DESC LIMIT 1", (key,)).fetchone()
        return _build(row) if row else None

    def watch(self, build_id: str) -> None:
        with self.store._connection() as conn:
            conn.execute(f"UPDATE {self.table} SET seen = {_NOW} WHERE id = %s AND state IN "
                         "('waiting', 'running')", (build_id,))

    def cancel(self, video_id: str) -> list[Build]:
        with self.store._connection() as conn, conn.transaction():
            self._serialised(conn)
            conn.execute(f"UPDATE {self.table} SET state = 'cancelled', cancelled = true "
                         "WHERE video_id = %s AND state = 'waiting'", (video_id,))
            rows = conn.execute(f"UPDATE {self.table} SET cancelled = true WHERE video_id = %s AND "
                                f"state = 'running' RETURNING {', '.join(_COLUMNS)}", (video_id,)).fetchall()
        return [_build(row) for row in rows]

    def builds(self, active_only: bool = False) -> list[Build]:
        where = "state IN ('waiting', 'running')" if active_only else "TRUE"
        with self.store._connection() as conn:
            rows = conn.execute(self._select(where) + " ORDER BY created").fetchall()
        return [_build(row) for row in rows]

    def close(self) -> None:
        pass


def _build(row) -> Build:
    """A row as a build; a row whose source is not a JSON object is named (``QueueDamaged``)."""
    data = dict(zip(_COLUMNS, row))
    try:
        data["source"] = json.loads(data["source"])
    except ValueError as error:
        where = f"the row of build {data['id']} in the table ytqa_builds"
        raise QueueDamaged(where, f"its source: {error}"[:200]) from None
    return Build(**data)
