"""The server store: PostgreSQL with pgvector, one library for many processes and machines.

Tables (in the store's schema; transcripts, index metadata and chunkings are JSON text,
nothing is ever unpickled)::

    ytqa_videos          one row a video: its listing columns and its transcript (JSON)
    ytqa_indexes         one row an index: key, video, family, its IndexInfo and chunking (JSON)
    ytqa_holdings        one row a person's hold on a video (shared with everyone, with a group
                         (shared_group, added in place to a database made before groups), or
                         not); gone with the video
    ytqa_records         the shared records beside the videos: collections, histories
                         (kind, key, body jsonb; ``_postgres_records``)
    ytqa_vectors_<dim>   every chunk and sentence vector, one table per vector size: a
                         LangChain ``PGVectorStore`` table with the video id, index key,
                         family, kind (chunk | sentence), position and start/end seconds as
                         metadata columns, and a btree on (index key, kind, position);
                         its vectors in half precision (``halfvec``: half the pages a
                         question reads; a table made before is converted on first use)
    ytqa_means_<dim>     one row an index: its family, number of chunks and mean chunk
                         vector (unit length), with an HNSW index (cosine)

LangChain's ``PGEngine`` creates the vectors table. Its ``PGVectorStore`` adds rows one at a
time, each in its own transaction, and returns every row's vector with each hit, so an
index is written here with COPY inside one transaction (an index is there whole or not at
all), with its mean in the same transaction, and searches are our own SQL: one video's rows
scored by one exact query that returns scores only, and the library-wide search routed by
the means (``PostgresStore.search``: the nearest videos' chunks scored exactly, as the file
store's library index does), which reaches a recall that an HNSW index over every chunk
did not at 10,000 videos (benchmarks/scale.py, README "Scale").

Concurrency: writes of one video are serialised by an advisory lock (``lock``), an index
is published by the one transaction that writes its row and its vectors, and a second
writer of the same key finds the first's and keeps it. The lexical half of search is
the same BM25 as the file store's, over the chunk texts read from here.

psycopg and langchain-postgres are imported by this module only.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import uuid
from typing import Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from ._chunking import Chunking
from ._postgres_records import TABLE as RECORDS_TABLE
from ._postgres_records import PgRecords
from ._postgres_records import create_table as create_records_table
from ._errors import (DatabaseWentAway, DeletedWhileIndexing, ForeignTable, LockTimeout, StoredVideoDamaged,
                      StoreUnavailable, VideoBusy)
from ._storage import LOCK_WAIT
from ._store import Built, Hit, Holding, IndexInfo, StoredIndex, StoredVideo, Viewer, held_once
from ._transcript import Transcript

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: SQLSTATEs of a server shutting down or starting (admin, crash, cannot connect now).
_SHUTDOWN = {"57P01", "57P02", "57P03"}
#: The columns ytqa's vectors table has: a table of that name without them is not ytqa's.
_VECTOR_COLUMNS = ("id", "content", "embedding", "video_id", "index_key", "family", "kind", "position",
                   "start_s", "end_s")
#: A library-wide search looks at the videos whose mean chunk vector is nearest the question
#: (in that order) until they hold this many chunks, at most ``PROBE_VIDEOS`` of them, and
#: scores every chunk of those exactly (benchmarks/scale.py: recall@10 and time by budget).
PROBE_CHUNKS = 45_000
PROBE_VIDEOS = 1_000
#: Up to this many videos listed, a search over them scores all their means (else the HNSW
#: index over the means is searched with the list as a filter).
EXACT_MEANS = 2_000
#: The HNSW search over the mean vectors: scanned on until enough rows pass the family filter.
MEANS_EF_SEARCH = 1_000
#: How long a delete waits for a video another process is indexing before refusing.
DELETE_WAIT = 2.0
_INSTALL_HINT = ("The PostgreSQL store needs psycopg and langchain-postgres: "
                 "pip install 'ytqa[postgres]' (or pip install langchain-postgres 'psycopg[binary]').")


def shown(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def _driver_url(url: str) -> str:
    """The same server for SQLAlchemy's psycopg driver (what PGEngine takes)."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", url)


def has_halfvec(version: str) -> bool:
    """Whether pgvector at ``version`` ("0.8.0") has ``halfvec`` (0.7 and later), which keeps
    the vectors; an unreadable version is taken as new enough (the server then says more)."""
    try:
        major, minor = (int(part) for part in version.split(".")[:2])
    except ValueError:
        return True
    return (major, minor) >= (0, 7)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PostgresStore:
    """``Store`` on a PostgreSQL server with the vector extension."""

    def __init__(self, url: str, schema: str = "public", lock_wait: float = LOCK_WAIT, notice=None):
        if not _SCHEMA.fullmatch(schema):
            raise ValueError(f"not a schema name: {schema!r}")
        self.url = url
        self.lock_wait = lock_wait
        self.notice = notice
        self.location = shown(url)
        self.schema = schema
        self._held = threading.local()
        self._engine = None
        self._searchers: dict[int, object] = {}
        self._tables: set[int] = set()
        self._mutex = threading.Lock()
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as error:
            raise StoreUnavailable(self.location, f"a library is missing ({error.name})",
                                   _INSTALL_HINT) from None
        self._psycopg = psycopg
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                self._create_schema(conn)
        except psycopg.Error as error:
            raise self._unavailable(error) from None
        # check: a connection the server closed (a restart, an idle timeout) is replaced
        # before it is lent, so a long-lived process reconnects on its own.
        self._pool = ConnectionPool(url, min_size=1, max_size=4, open=False, configure=self._configure,
                                    check=ConnectionPool.check_connection, kwargs={"connect_timeout": 10})
        try:
            self._pool.open(wait=True, timeout=20)
        except Exception as error:  # PoolTimeout: the cause is in the log, say what we know
            raise StoreUnavailable(self.location, f"no connection could be opened ({error})") from None

    def _unavailable(self, error) -> StoreUnavailable:
        text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "vector" in text and ("extension" in text or "not available" in text):
            return StoreUnavailable(self.location, f"the server has no pgvector ({text})",
                                    "Install the vector extension on the server (any PostgreSQL 13 or "
                                    "newer with pgvector), or ask its administrator to run "
                                    "CREATE EXTENSION vector.")
        return StoreUnavailable(self.location, text)

    # --- a server that goes away ----------------------------------------------------

    def _gone(self, error: BaseException) -> DatabaseWentAway | None:
        """The error as "the database went away", when the connection is what failed."""
        from psycopg_pool import PoolTimeout

        cause = getattr(error, "orig", None) or error  # SQLAlchemy (LangChain's search) wraps it
        state = getattr(cause, "sqlstate", None) or ""
        lost = isinstance(cause, (self._psycopg.InterfaceError, PoolTimeout)) or (
            isinstance(cause, self._psycopg.OperationalError)
            and (not state or state.startswith("08") or state in _SHUTDOWN))
        if not lost:
            return None
        text = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        return DatabaseWentAway(self.location, text[:200])

    @contextlib.contextmanager
    def _translated(self):
        """A lost connection inside becomes one line (:class:`DatabaseWentAway`)."""
        try:
            yield
        except Exception as error:
            gone = self._gone(error)
            if gone is None:
                raise
            raise gone from None

    @contextlib.contextmanager
    def _connection(self):
        """A connection of the pool (checked, so never one the server has closed)."""
        with self._translated(), self._pool.connection() as conn:
            yield conn

    # --- schema ----------------------------------------------------------------

    def _t(self, name: str) -> str:
        return f'"{self.schema}".{name}'

    def _create_schema(self, conn) -> None:
        with conn.transaction():
            # One process at a time: CREATE ... IF NOT EXISTS races with itself.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('ytqa:schema', 0))")
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
            if not has_halfvec(version):
                raise StoreUnavailable(self.location, f"its vector extension is pgvector {version}, older than 0.7",
                                       "Update it on the server (ALTER EXTENSION vector UPDATE, after installing "
                                       "pgvector 0.7 or newer): ytqa keeps its vectors as halfvec, which came in 0.7.")
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self._t('ytqa_videos')} (
                video_id TEXT PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                title TEXT,
                duration DOUBLE PRECISION NOT NULL,
                language TEXT NOT NULL,
                language_code TEXT NOT NULL,
                kind TEXT NOT NULL,
                source TEXT NOT NULL,
                transcript TEXT NOT NULL,
                updated TIMESTAMPTZ NOT NULL DEFAULT now())""")
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self._t('ytqa_indexes')} (
                key TEXT PRIMARY KEY,
                video_id TEXT NOT NULL REFERENCES {self._t('ytqa_videos')} (video_id) ON DELETE CASCADE,
                family TEXT NOT NULL,
                dim INTEGER NOT NULL,
                info TEXT NOT NULL,
                chunking TEXT NOT NULL)""")
            conn.execute(f"CREATE INDEX IF NOT EXISTS ytqa_indexes_video ON {self._t('ytqa_indexes')} (video_id)")
            conn.execute(f"""CREATE TABLE IF NOT EXISTS {self._t('ytqa_holdings')} (
                video_id TEXT NOT NULL REFERENCES {self._t('ytqa_videos')} (video_id) ON DELETE CASCADE,
                person TEXT NOT NULL,
                shared BOOLEAN NOT NULL DEFAULT false,
                PRIMARY KEY (video_id, person))""")
            conn.execute(f"ALTER TABLE {self._t('ytqa_holdings')} ADD COLUMN IF NOT EXISTS shared_group TEXT")
            create_records_table(conn, self._t(RECORDS_TABLE))

    def _configure(self, conn) -> None:
        from pgvector.psycopg import register_vector

        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {int(MEANS_EF_SEARCH)}")
        conn.execute("SET hnsw.iterative_scan = relaxed_order")
        # The routed search's estimate crosses JIT's threshold; compiling costs more than it saves.
        conn.execute("SET jit = off")
        conn.commit()

    def _vectors_table(self, dim: int) -> str:
        return f"ytqa_vectors_{int(dim)}"

    def _ensure_vectors(self, dim: int) -> None:
        """The vectors table of that size, made by LangChain's PGEngine, with its indexes and
        its table of mean vectors; a table of that name that ytqa did not make is named
        (:class:`ForeignTable`), never used."""
        if dim in self._tables:
            return
        table = self._vectors_table(dim)
        with self._translated(), self._psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute("SELECT pg_advisory_lock(hashtextextended('ytqa:schema', 0))")
            try:
                exists = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".{table}',)).fetchone()[0]
                if exists is None:
                    self._create_vectors_table(conn, table, dim)
                else:
                    self._check_vectors_table(conn, table)
                if conn.execute("SELECT to_regclass(%s)", (self._t(self._means_table(dim)),)).fetchone()[0] is None:
                    self._create_means_table(conn, dim)
                self._store_halves(conn, table, dim)
            finally:
                with contextlib.suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended('ytqa:schema', 0))")
        self._tables.add(dim)

    def _kept_vectors(self, dim: int) -> bool:
        """Whether a vectors table of that size is there; one stored by an older ytqa is
        brought up to date first (its means kept, its vectors in halves: ``_ensure_vectors``)."""
        if dim in self._tables:
            return True
        with self._connection() as conn:
            if conn.execute("SELECT to_regclass(%s)", (self._t(self._vectors_table(dim)),)).fetchone()[0] is None:
                return False
        self._ensure_vectors(dim)
        return True

    def _store_halves(self, conn, table: str, dim: int) -> None:
        """Keep the vectors in half precision (``halfvec``): half the pages to read, so the
        exact scoring of a library-wide search costs a third less, with the same passages
        found. A table of full-precision vectors (made before, or just made by LangChain) is
        converted in place, once; an index whose vectors no half can hold (damage: unit
        vectors never come near 65,504) is removed first, to be rebuilt from its transcript."""
        column = conn.execute("SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                              "WHERE attrelid = %s::regclass AND attname = 'embedding'",
                              (self._t(table),)).fetchone()[0]
        if column.startswith("halfvec"):
            return
        rows = conn.execute(f"SELECT count(*) FROM {self._t(table)}").fetchone()[0]
        if rows and self.notice is not None:
            self.notice(f"storing {rows:,} vectors in half precision (once; the library waits for it)")
        conn.execute(f"""DELETE FROM {self._t('ytqa_indexes')} WHERE key IN (
            SELECT DISTINCT index_key FROM {self._t(table)} WHERE vector_norm(embedding) > 6e4)""")
        conn.execute(f'DROP INDEX IF EXISTS "{self.schema}".{table}_hnsw')  # ytqa's before the means
        conn.execute(f"ALTER TABLE {self._t(table)} ALTER COLUMN embedding TYPE halfvec({int(dim)}) "
                     f"USING embedding::halfvec({int(dim)})")
        if rows:
            conn.execute(f"VACUUM ANALYZE {self._t(table)}")

    def _check_vectors_table(self, conn, table: str) -> None:
        found = {row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            (self.schema, table)).fetchall()}
        missing = [name for name in _VECTOR_COLUMNS if name not in found]
        if missing:
            raise ForeignTable(self.location, f'"{self.schema}".{table}', missing)

    def _create_vectors_table(self, conn, table: str, dim: int) -> None:
        from langchain_postgres import Column

        self._pg_engine().init_vectorstore_table(
            table, dim, schema_name=self.schema, id_column=Column("id", "TEXT", nullable=False),
            metadata_columns=[
                Column("video_id", "TEXT", nullable=False),
                Column("index_key", "TEXT", nullable=False),
                Column("family", "TEXT", nullable=False),
                Column("kind", "TEXT", nullable=False),
                Column("position", "INTEGER", nullable=False),
                Column("start_s", "REAL", nullable=False),
                Column("end_s", "REAL", nullable=False),
            ],
            store_metadata=False,
        )
        conn.execute(f"""ALTER TABLE {self._t(table)} ADD CONSTRAINT {table}_index
            FOREIGN KEY (index_key) REFERENCES {self._t('ytqa_indexes')} (key) ON DELETE CASCADE""")
        conn.execute(f"CREATE INDEX {table}_key ON {self._t(table)} (index_key, kind, position)")

    def _means_table(self, dim: int) -> str:
        return f"ytqa_means_{int(dim)}"

    def _create_means_table(self, conn, dim: int) -> None:
        """One row an index: its video, family, number of chunks and mean chunk vector, with an
        HNSW index (cosine) that a library-wide search routes by. Filled from the vectors
        already stored; the HNSW index over every chunk that ytqa made before is dropped
        (the routed search never uses it, and it slowed every write)."""
        means, table = self._means_table(dim), self._vectors_table(dim)
        with conn.transaction():
            conn.execute(f"""CREATE TABLE {self._t(means)} (
                index_key TEXT PRIMARY KEY REFERENCES {self._t('ytqa_indexes')} (key) ON DELETE CASCADE,
                video_id TEXT NOT NULL,
                family TEXT NOT NULL,
                chunks INTEGER NOT NULL,
                embedding vector({int(dim)}) NOT NULL)""")
            conn.execute(f"CREATE INDEX {means}_video ON {self._t(means)} (video_id)")
            conn.execute(f"""INSERT INTO {self._t(means)} (index_key, video_id, family, chunks, embedding)
                SELECT index_key, min(video_id), min(family), count(*), l2_normalize(avg(embedding::vector))
                FROM {self._t(table)} WHERE kind = 'chunk' GROUP BY index_key""")
            conn.execute(f"CREATE INDEX {means}_hnsw ON {self._t(means)} USING hnsw (embedding vector_cosine_ops)")
            conn.execute(f'DROP INDEX IF EXISTS "{self.schema}".{table}_hnsw')

    def _pg_engine(self):
        with self._mutex:
            if self._engine is None:
                from langchain_postgres import PGEngine

                self._engine = PGEngine.from_connection_string(_driver_url(self.url), pool_size=2,
                                                            pool_pre_ping=True)  # reconnects after a restart
            return self._engine

    def build_queue(self):
        """The queue of background builds (``_postgres_queue``): one per store object."""
        if getattr(self, "_queue", None) is None:
            from ._postgres_queue import PostgresQueue

            self._queue = PostgresQueue(self)
        return self._queue

    def close(self) -> None:
        self._pool.close()
        if self._engine is not None:
            engine, self._engine = self._engine, None
            with contextlib.suppress(Exception):
                engine._run_as_sync(engine.close())

    @contextlib.contextmanager
    def scratch(self):
        schema = f"ytqa_scratch_{uuid.uuid4().hex[:12]}"
        store = PostgresStore(self.url, schema)
        try:
            yield store
        finally:
            store.close()
            with self._psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def records(self, kind: str) -> PgRecords:
        """The records of that kind (collections, histories), one row each in ytqa_records."""
        return PgRecords(self, kind)

    # --- locks -------------------------------------------------------------------

    def lock(self, video_id: str, wait: float | None = None, busy=None):
        """An advisory lock on the server, waited for at most ``wait`` seconds (saying who
        holds it), then ``LockTimeout`` (or ``busy(holder, waited, stopped)``)."""
        return self._lock(video_id, self.lock_wait if wait is None else wait, busy)

    def _lock(self, video_id: str, wait: float, busy=None):
        return held_once(self._held, video_id, lambda: self._advisory_lock(video_id, wait, busy))

    @contextlib.contextmanager
    def _advisory_lock(self, video_id: str, wait: float, busy=None):
        import os
        import socket
        import time

        name = f"ytqa:{self.schema}:{video_id}"
        me = f"ytqa pid {os.getpid()} on {socket.gethostname()}"[:63]
        with self._translated(), self._psycopg.connect(self.url, autocommit=True, application_name=me,
                                                       connect_timeout=10) as conn:
            started, told = time.monotonic(), False
            while not conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[0]:
                waited = time.monotonic() - started
                if waited >= wait or (self.notice is not None and not told and waited >= 0.5):
                    holder = self._holder(conn, name)
                    if waited >= wait:
                        raise (busy(holder, waited, False) if busy is not None
                               else LockTimeout(video_id, holder, waited))
                    told = True
                    self.notice(f"waiting for {holder}, which holds {video_id} (giving up after {wait:.0f} s)")
                time.sleep(0.05)
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))

    def _holder(self, conn, name: str) -> str:
        """Who holds an advisory lock: the client's name for itself and its server process."""
        with contextlib.suppress(Exception):
            row = conn.execute(
                """SELECT a.application_name, a.pid, round(extract(epoch FROM now() - a.backend_start))
                   FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                     AND l.classid::bigint = ((hashtextextended(%s, 0) >> 32) & 4294967295)
                     AND l.objid::bigint = (hashtextextended(%s, 0) & 4294967295)""", (name, name)).fetchone()
            if row is not None:
                return f"{row[0] or 'another client'} (server process {row[1]}, for {int(row[2])} s)"
        return "another process"

    # --- transcripts -------------------------------------------------------------

    def transcript(self, video_id: str) -> Transcript | None:
        with self._connection() as conn:
            row = conn.execute(f"SELECT transcript FROM {self._t('ytqa_videos')} WHERE video_id = %s",
                               (video_id,)).fetchone()
        if row is None:
            return None
        try:
            transcript = Transcript.from_json(json.loads(row[0]))
        except (ValueError, RecursionError) as error:
            reason = str(error) if isinstance(error, ValueError) and not isinstance(
                error, json.JSONDecodeError) else "not valid JSON (cut short or overwritten)"
            raise StoredVideoDamaged(video_id, f"its transcript row: {reason}") from None
        if transcript.video_id != video_id:
            raise StoredVideoDamaged(video_id, "its transcript row holds another video's transcript "
                                               f"({transcript.video_id[:40]!r})")
        return transcript

    def save_transcript(self, transcript: Transcript) -> None:
        with self._connection() as conn:
            self._upsert_video(conn, transcript)

    def _upsert_video(self, conn, transcript: Transcript) -> None:
        conn.execute(
            f"""INSERT INTO {self._t('ytqa_videos')} (video_id, fingerprint, title, duration, language,
                    language_code, kind, source, transcript)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (video_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint,
                    title = EXCLUDED.title, duration = EXCLUDED.duration, language = EXCLUDED.language,
                    language_code = EXCLUDED.language_code, kind = EXCLUDED.kind,
                    source = EXCLUDED.source, transcript = EXCLUDED.transcript, updated = now()""",
            (transcript.video_id, transcript.fingerprint(), transcript.title, transcript.duration,
             transcript.language, transcript.language_code, transcript.kind, transcript.source,
             transcript.dumps()))

    # --- indexes -------------------------------------------------------------------

    def has(self, key: str) -> bool:
        with self._connection() as conn:
            return conn.execute(f"SELECT 1 FROM {self._t('ytqa_indexes')} WHERE key = %s",
                                (key,)).fetchone() is not None

    def get(self, key: str) -> StoredIndex | None:
        with self._connection() as conn:
            row = conn.execute(f"SELECT info, chunking, dim FROM {self._t('ytqa_indexes')} WHERE key = %s",
                               (key,)).fetchone()
            if row is None:
                return None
            if row[2] not in self._tables:  # an older table is brought up to date before it is read
                conn.commit()  # (holding no lock meanwhile)
                self._kept_vectors(row[2])
            try:
                info = IndexInfo.from_json(json.loads(row[0]))
                chunking = Chunking.from_json(json.loads(row[1]))
                dim = int(row[2])
                kinds = dict(conn.execute(
                    f"SELECT kind, count(*) FROM {self._t(self._vectors_table(dim))} WHERE index_key = %s "
                    "GROUP BY kind", (key,)).fetchall())
                if kinds.get("chunk", 0) != len(chunking.chunks) or kinds.get("sentence", 0) not in (
                        0, len(chunking.sentences)):
                    raise ValueError("its vectors do not match its chunks")
            except (KeyError, TypeError, ValueError, self._psycopg.Error):
                conn.rollback()
                # Not usable: removed, so it is rebuilt from the transcript.
                conn.execute(f"DELETE FROM {self._t('ytqa_indexes')} WHERE key = %s", (key,))
                return None
        return StoredIndex(info, chunking, PgIndexVectors(self, key, dim, len(chunking.chunks),
                                                          int(kinds.get("sentence", 0))))

    def put(self, info: IndexInfo, built: Built, transcript: Transcript | None = None) -> StoredIndex:
        """Store an index; with ``transcript``, the video's new transcript in the same
        transaction: a video is stored whole (its row, its index, its vectors) or not at all."""
        dim = int(built.chunk_vectors.shape[1])
        self._ensure_vectors(dim)
        chunking = built.chunking
        with self._connection() as conn:
            with conn.transaction():
                if transcript is not None:
                    self._upsert_video(conn, transcript)
                current = conn.execute(f"SELECT fingerprint FROM {self._t('ytqa_videos')} WHERE video_id = %s "
                                       "FOR SHARE", (info.video_id,)).fetchone()
                if current is None or current[0] != info.transcript:
                    # Deleted (or replaced) since it was read: a delete stays deleted.
                    raise DeletedWhileIndexing(info.video_id)
                inserted = conn.execute(
                    f"""INSERT INTO {self._t('ytqa_indexes')} (key, video_id, family, dim, info, chunking)
                        VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING key""",
                    (info.key, info.video_id, info.family, dim, json.dumps(info.to_json()),
                     json.dumps(chunking.to_json(), ensure_ascii=False))).fetchone()
                if inserted is not None:
                    self._copy_vectors(conn, dim, info, built)
                    self._put_mean(conn, dim, info, built.chunk_vectors)
        if inserted is None:  # another writer got there first: theirs is the index
            stored = self.get(info.key)
            if stored is not None:
                return stored
        return StoredIndex(info, chunking, PgIndexVectors(
            self, info.key, dim, len(chunking.chunks),
            len(chunking.sentences) if built.sentence_vectors is not None else 0))

    def _copy_vectors(self, conn, dim: int, info: IndexInfo, built: Built) -> None:
        with conn.cursor().copy(
                f"COPY {self._t(self._vectors_table(dim))} (id, content, embedding, video_id, index_key, "
                "family, kind, position, start_s, end_s) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["text", "text", "halfvec", "text", "text", "text", "text",
                            "int4", "float4", "float4"])
            for kind, items, vectors in (("chunk", built.chunking.chunks, built.chunk_vectors),
                                         ("sentence", built.chunking.sentences, built.sentence_vectors)):
                if vectors is None:
                    continue
                vectors = np.asarray(vectors, dtype="float32")
                for position, (item, vector) in enumerate(zip(items, vectors)):
                    copy.write_row((f"{info.key}#{kind[0]}{position}", item.text, vector,
                                    info.video_id, info.key, info.family, kind, position,
                                    item.start, item.end))

    def _put_mean(self, conn, dim: int, info: IndexInfo, vectors: np.ndarray) -> None:
        """The index's mean chunk vector (unit length), which library-wide searches route by."""
        mean = np.asarray(vectors, dtype="float64").mean(axis=0)
        mean = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype("float32")
        conn.execute(f"""INSERT INTO {self._t(self._means_table(dim))} (index_key, video_id, family, chunks, embedding)
                         VALUES (%s, %s, %s, %s, %s)""", (info.key, info.video_id, info.family, len(vectors), mean))

    # --- the library -------------------------------------------------------------

    def _where(self, search: str | None, visible_to: Viewer | None = None) -> tuple[str, tuple]:
        clauses, params = [], ()
        if search:
            pattern = f"%{_escape_like(search)}%"
            clauses.append("(v.video_id ILIKE %s OR v.title ILIKE %s)")
            params += (pattern, pattern)
        if visible_to is not None:
            clauses.append(self._visible_clause("v.video_id", "%s", "%s"))
            params += (visible_to.name, sorted(visible_to.groups))
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params

    def _visible_clause(self, column: str, person: str, groups: str) -> str:
        """``_access.sees`` in SQL, for the video named by ``column``: nobody holds it, or this
        person does, or a holder shares it with everyone or with one of their groups (``person``
        and ``groups``: the placeholders of the person's name and their groups)."""
        holdings = self._t("ytqa_holdings")  # one look-up of the video's holders (true: nobody)
        return f"""COALESCE((SELECT bool_or(h.person = {person} OR h.shared
                                           OR COALESCE(h.shared_group = ANY({groups}), false))
                           FROM {holdings} h WHERE h.video_id = {column}), true)"""

    def videos(self, offset: int = 0, limit: int | None = None, search: str | None = None,
               visible_to: Viewer | None = None) -> list[StoredVideo]:
        where, params = self._where(search, visible_to)
        with self._connection() as conn:
            rows = conn.execute(
                f"""SELECT video_id, title, duration, language, language_code, kind, source, fingerprint
                    FROM {self._t('ytqa_videos')} v {where} ORDER BY video_id OFFSET %s LIMIT %s""",
                params + (offset, limit)).fetchall()
            indexes: dict[str, list[IndexInfo]] = {}
            if rows:
                for video_id, info in conn.execute(
                        f"SELECT video_id, info FROM {self._t('ytqa_indexes')} WHERE video_id = ANY(%s)",
                        ([r[0] for r in rows],)).fetchall():
                    with contextlib.suppress(KeyError, TypeError, ValueError, RecursionError):
                        found = IndexInfo.from_json(json.loads(info))
                        if found.video_id == video_id:  # a row naming another video's index is damage
                            indexes.setdefault(video_id, []).append(found)
        return [_listed(r, indexes.get(r[0], ())) for r in rows]

    def count(self, search: str | None = None, visible_to: Viewer | None = None) -> int:
        where, params = self._where(search, visible_to)
        with self._connection() as conn:
            return int(conn.execute(f"SELECT count(*) FROM {self._t('ytqa_videos')} v {where}",
                                    params).fetchone()[0])

    def video_ids(self, visible_to: Viewer | None = None) -> list[str]:
        where, params = self._where(None, visible_to)
        with self._connection() as conn:
            return [row[0] for row in conn.execute(
                f"SELECT video_id FROM {self._t('ytqa_videos')} v {where} ORDER BY video_id", params)]

    # --- who holds what ------------------------------------------------------------

    def holdings(self, video_ids: Sequence[str] | None = None) -> list[Holding]:
        where, params = ("", ()) if video_ids is None else ("WHERE video_id = ANY(%s)", (list(video_ids),))
        with self._connection() as conn:
            return [Holding(*row) for row in conn.execute(
                f"SELECT video_id, person, shared, shared_group FROM {self._t('ytqa_holdings')} {where} "
                "ORDER BY video_id, person", params)]

    def hold(self, video_id: str, person: str, shared: bool | None = None, group: str | None = None) -> None:
        """Held only while the video is stored (a video deleted meanwhile stays deleted)."""
        keep = shared is None
        with self._connection() as conn:
            conn.execute(
                f"""INSERT INTO {self._t('ytqa_holdings')} AS h (video_id, person, shared, shared_group)
                    SELECT video_id, %s, coalesce(%s, false), %s FROM {self._t('ytqa_videos')}
                    WHERE video_id = %s
                    ON CONFLICT (video_id, person) DO UPDATE
                    SET shared = coalesce(%s, h.shared),
                        shared_group = CASE WHEN %s THEN h.shared_group ELSE excluded.shared_group END""",
                (person, shared, None if keep else group, video_id, shared, keep))

    def release(self, video_id: str, person: str) -> None:
        with self._connection() as conn:
            conn.execute(f"DELETE FROM {self._t('ytqa_holdings')} WHERE video_id = %s AND person = %s",
                         (video_id, person))

    def remove(self, video_id: str) -> bool:
        def busy(holder, _waited, _stopped):
            return VideoBusy(video_id, holder)

        with self.lock(video_id, wait=DELETE_WAIT, busy=busy), self._connection() as conn:
            return conn.execute(f"DELETE FROM {self._t('ytqa_videos')} WHERE video_id = %s RETURNING 1",
                                (video_id,)).fetchone() is not None

    def _seen_ids(self, visible_to: Viewer, video_ids: Sequence[str] | None) -> tuple[list[str] | None, bool]:
        """The videos to search for a person: those they see (of ``video_ids``) when they see
        at most ``EXACT_MEANS`` (a bounded query), with False; else ``video_ids`` and True (the
        rule goes in the scan of the means)."""
        where, params = self._where(None, visible_to)
        if video_ids is not None and len(video_ids) <= EXACT_MEANS:  # a few named: which of them
            where, params = where + " AND v.video_id = ANY(%s)", params + (list(video_ids),)
        with self._connection() as conn:
            few = {row[0] for row in conn.execute(
                f"SELECT video_id FROM {self._t('ytqa_videos')} v {where} LIMIT %s", params + (EXACT_MEANS + 1,))}
        if len(few) > EXACT_MEANS:
            return (None if video_ids is None else list(video_ids)), True
        return sorted(few if video_ids is None else few & set(video_ids)), False

    def _near(self, params: dict, video_ids: Sequence[str] | None, visible_to: Viewer | None) -> str:
        """The search's WHERE and ORDER BY over the means (its parameters added to ``params``):
        of ``video_ids`` and those ``visible_to`` sees, where given."""
        near = "WHERE m.family = %(family)s"
        if video_ids is not None:
            near += " AND m.video_id = ANY(%(ids)s)"
            params["ids"] = list(video_ids)
        if visible_to is not None:
            near += " AND " + self._visible_clause("m.video_id", "%(viewer)s", "%(groups)s")
            params.update(viewer=visible_to.name, groups=sorted(visible_to.groups))
        if video_ids is None or len(video_ids) > EXACT_MEANS:  # the HNSW index over the means
            return near + " ORDER BY m.embedding <=> %(q)s"  # (scanned on past the videos not listed or seen)
        return near + " ORDER BY (m.embedding <=> %(q)s) + 0"  # an order the HNSW index cannot give:
        # the listed videos' means, every one

    def search(self, family: str, query: np.ndarray, k: int,
               video_ids: Sequence[str] | None = None, visible_to: Viewer | None = None) -> list[Hit]:
        """The ``k`` chunks nearest the query (inner product) of the videos whose mean vector
        is nearest it, up to ``PROBE_CHUNKS`` chunks, scored exactly: one statement, whose
        cost is the same at any library size (the HNSW search over the means aside, which
        grows as its logarithm). Given ``video_ids``, up to ``EXACT_MEANS`` of them, their
        means are scored exactly instead (their number is the cost); more, the HNSW index
        over the means is scanned until enough of them pass (pgvector's iterative scan).
        ``visible_to``: only the videos that person sees (``_access.sees``, in SQL). Where
        they see more than ``EXACT_MEANS`` videos, the rule is a filter on that scan, so the
        question's cost does not grow with what they see; fewer are listed (a bounded query)
        and scored exactly, as given ``video_ids``."""
        dim = int(np.asarray(query).shape[-1])
        if video_ids is not None and not video_ids:
            return []
        if not self._kept_vectors(dim):
            return []
        in_scan = False
        if visible_to is not None:
            video_ids, in_scan = self._seen_ids(visible_to, video_ids)
            if video_ids is not None and not video_ids:
                return []
        params = {"family": family, "q": np.asarray(query, dtype="float32"), "videos": PROBE_VIDEOS,
                  "budget": PROBE_CHUNKS, "k": int(k)}
        near = self._near(params, video_ids, visible_to if in_scan else None)
        # Each picked video's rows are read by the btree on index_key (OFFSET 0 keeps the
        # planner from turning that into a join that scans the whole table). Never prepared:
        # the generic plan PostgreSQL keeps for a prepared statement ignores how few rows the
        # filters (listed videos, what a person sees) let through, and took 20-25 ms more at
        # 10,000 videos (benchmarks/scale.py --people).
        with self._connection() as conn:
            rows = conn.execute(f"""
                WITH near AS MATERIALIZED (
                    SELECT m.index_key, m.chunks, m.embedding <=> %(q)s AS distance
                    FROM {self._t(self._means_table(dim))} m
                    {near} LIMIT %(videos)s),
                picked AS MATERIALIZED (
                    SELECT index_key FROM (SELECT index_key, chunks, sum(chunks) OVER (
                        ORDER BY distance ROWS UNBOUNDED PRECEDING) AS upto FROM near) ranked
                    WHERE upto - chunks < %(budget)s)
                SELECT v.video_id, v.index_key, v.position, v.score FROM picked p CROSS JOIN LATERAL (
                    SELECT video_id, index_key, position, (embedding <#> %(q)s::halfvec) * -1 AS score
                    FROM {self._t(self._vectors_table(dim))}
                    WHERE index_key = p.index_key AND kind = 'chunk' OFFSET 0) v
                ORDER BY v.score DESC LIMIT %(k)s""", params, prepare=False).fetchall()
        return [Hit(video_id, key, int(position), float(score)) for video_id, key, position, score in rows]


def _listed(row, indexes) -> StoredVideo:
    """A row of ytqa_videos as listing shows it; a time no transcript has is damage."""
    duration = float(row[2])
    if not (0 <= duration <= 1e7):  # NaN and infinities too
        return StoredVideo(video_id=row[0], title=None, duration=0.0, language="", language_code="",
                           kind="damaged", source="", transcript="",
                           damaged=f"its duration {duration!r} is not a time")
    return StoredVideo(video_id=row[0], title=row[1], duration=duration, language=row[3],
                       language_code=row[4], kind=row[5], source=row[6], transcript=row[7],
                       indexes=tuple(indexes))


class PgIndexVectors:
    """One index's vectors, scored on the server: ``IndexVectors`` for the server store."""

    def __init__(self, store: PostgresStore, key: str, dim: int, chunks: int, sentences: int):
        """``sentences``: how many sentence vectors it has (0: none)."""
        self._store = store
        self._key = key
        self._table = store._t(store._vectors_table(dim))
        self._chunks = chunks
        self._sentences = sentences
        self._has_sentences = sentences > 0
        self._last: tuple[bytes, np.ndarray, np.ndarray | None] | None = None

    @property
    def size(self) -> int:
        return self._chunks

    def _scores(self, query: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Every row's inner product with the query, in one round trip (kept for the next call)."""
        query = np.asarray(query, dtype="float32")
        tag = query.tobytes()
        if self._last is None or self._last[0] != tag:
            with self._store._connection() as conn:
                rows = conn.execute(
                    f"SELECT kind = 'chunk', position, (embedding <#> %s::halfvec) * -1 FROM {self._table} "
                    "WHERE index_key = %s", (query, self._key)).fetchall()
            chunks = np.full(self._chunks, -np.inf, dtype="float64")
            sentences = [] if self._has_sentences else None
            found = 0
            for is_chunk, position, score in rows:
                if is_chunk:
                    chunks[position] = score
                    found += 1
                elif sentences is not None:
                    sentences.append((position, score))
            if found != self._chunks or len(sentences or ()) != self._sentences:
                # Rows gone since the index was opened: deleted (or damaged), never "fewer vectors".
                raise DeletedWhileIndexing(self._key.split("/", 1)[0])
            if sentences is not None:
                scores = np.full(len(sentences), -np.inf, dtype="float64")
                try:
                    for position, score in sentences:
                        scores[position] = score
                except IndexError:  # a row of another position: not this index as it was opened
                    raise DeletedWhileIndexing(self._key.split("/", 1)[0]) from None
                sentences = scores
            self._last = (tag, chunks, sentences)
        return self._last[1], self._last[2]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        scores, _ = self._scores(query)
        order = np.argsort(-scores, kind="stable")[: min(k, self._chunks)]
        return [(int(i), float(scores[i])) for i in order]

    def sentence_scores(self, query: np.ndarray) -> np.ndarray | None:
        return self._scores(query)[1]

    def sentence_vectors(self) -> np.ndarray | None:
        if not self._has_sentences:
            return None
        with self._store._connection() as conn:
            rows = conn.execute(f"SELECT embedding::vector FROM {self._table} WHERE index_key = %s AND kind = 'sentence' "
                                "ORDER BY position", (self._key,)).fetchall()
        return np.vstack([np.asarray(r[0], dtype="float32") for r in rows])
