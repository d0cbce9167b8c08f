"""How a service's events are stored: the transcodings of what each carries (`Meta`) and of
catalogue payloads, read models (`View`) and the recorder that writes views, idempotency keys and
inbound records in the same transaction as the events.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, ClassVar
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
    Transcoding,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql
from psycopg.rows import tuple_row

from shared.events import CatalogueEvent
from shared.kit.domain import Meta
from shared.kit.settings import Settings

__all__ = [
    "CaselineRecorder",
    "CatalogueTranscoding",
    "Entry",
    "EntryIndex",
    "Idempotency",
    "MetaTranscoding",
    "Op",
    "View",
    "ensure_schema",
    "run_ops",
]

Op = tuple[str, Sequence[Any]]
"""One SQL statement for a view, with `{schema}` where the service's schema goes."""


def run_ops(
    curs: Any, ops: Iterable[Op], fmt: Callable[[str], str], *, prepare: bool = False
) -> None:
    """Run `ops` in their order on `curs` (a psycopg cursor), each run of one statement as one
    `executemany`: its text formatted and converted once, its rows pipelined in one round trip.

    `prepare` only where the ops run in a transaction that is rolled back whole on any error
    (psycopg then forgets what it prepared): a backlog's access rows took three times as long
    planned one by one. Never elsewhere: a statement whose PREPARE an aborted pipeline skipped
    may stay in psycopg's cache when the transaction is committed after all
    (`CaselineRecorder._extras`).
    """
    conn = curs.connection
    threshold = conn.prepare_threshold
    if not prepare:  # `executemany` prepares unless the connection says not to
        conn.prepare_threshold = None
    try:
        for statement, run in groupby(ops, key=itemgetter(0)):
            rows = [params for _, params in run]
            if len(rows) == 1:  # as a command's few view rows: a plain execute costs less
                curs.execute(fmt(statement), rows[0])
            else:
                curs.executemany(fmt(statement), rows)
    finally:
        conn.prepare_threshold = threshold


class MetaTranscoding(Transcoding):
    type = Meta
    name = "caseline_meta"

    def encode(self, obj: Meta) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, UUID) else v.isoformat() if isinstance(v, datetime) else v)
            for k, v in asdict(obj).items()
        }

    def decode(self, data: dict[str, Any]) -> Meta:
        def uuid_or_none(v: str | None) -> UUID | None:
            return UUID(v) if v else None

        return Meta(
            event_id=UUID(data["event_id"]),
            subject=data["subject"],
            actor=data["actor"],
            agency=data["agency"],
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
            correlation_id=uuid_or_none(data.get("correlation_id")),
            causation_id=uuid_or_none(data.get("causation_id")),
            traceparent=data.get("traceparent"),
        )


class CatalogueTranscoding(Transcoding):
    """Stores a catalogue payload as its JSON form, tagged with its event type."""

    def __init__(self, model: type[CatalogueEvent]) -> None:
        self.type = self.model = model
        self.name = model.type_name()

    def encode(self, obj: CatalogueEvent) -> dict[str, Any]:
        return obj.model_dump(mode="json")

    def decode(self, data: dict[str, Any]) -> CatalogueEvent:
        return self.model.model_validate(data)


@dataclass(frozen=True)
class Idempotency:
    """A client's `Idempotency-Key`, stored with the events its first request recorded."""

    key: str
    fingerprint: str
    status: int = 201
    body: dict[str, Any] = field(default_factory=dict)


class View:
    """A read model maintained in the same transaction as the events it follows.

    Subclasses name their tables in `tables`, create them in `create_statements` and turn each
    stored event into SQL operations in `apply`; `caseline replay` truncates and re-applies.
    """

    tables: ClassVar[tuple[str, ...]] = ()
    create_statements: ClassVar[tuple[str, ...]] = ()

    def bind(self, app: Any) -> None:
        """Called once with the application (e.g. to reach its key store); nothing by default."""

    def apply(self, event: Any) -> list[Op]:
        raise NotImplementedError


class EntryIndex(View):
    """Every published entry of the service by event id: what voiding and lookups need."""

    tables: ClassVar[tuple[str, ...]] = ("entry_index",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.entry_index ("
        " event_id uuid PRIMARY KEY, aggregate_id uuid NOT NULL, version bigint NOT NULL,"
        " subject text NOT NULL, type text NOT NULL, actor text NOT NULL,"
        " recorded_at timestamptz NOT NULL, agency text)",
        # A table made before the recording agency was kept gets the column (its rows stay
        # empty there until `caseline replay`; a voiding reads the stored event meanwhile).
        # Looked up first, so that a start-up does not queue for the table's exclusive lock.
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_attribute"
        " WHERE attrelid = '{schema}.entry_index'::regclass AND attname = 'agency'"
        " AND NOT attisdropped) THEN ALTER TABLE {schema}.entry_index ADD COLUMN agency text;"
        " END IF; END $$",
    )

    def apply(self, event: Any) -> list[Op]:
        data, meta = getattr(event, "data", None), getattr(event, "meta", None)
        if not isinstance(data, CatalogueEvent) or not isinstance(meta, Meta):
            return []
        return [
            (
                "INSERT INTO {schema}.entry_index (event_id, aggregate_id, version, subject, type,"
                " actor, recorded_at, agency) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (event_id) DO NOTHING",
                (
                    meta.event_id,
                    event.originator_id,
                    event.originator_version,
                    meta.subject,
                    data.type_name(),
                    meta.actor,
                    meta.recorded_at,
                    meta.agency,
                ),
            )
        ]


@dataclass(frozen=True)
class Entry:
    """Where an entry (an event, by its id) lives: its aggregate and version, type, who recorded
    it and for which agency (None: indexed before agencies were)."""

    event_id: UUID
    aggregate_id: UUID
    version: int
    subject: str
    type: str
    actor: str
    recorded_at: datetime
    agency: str | None = None


class CaselineRecorder(PostgresApplicationRecorder):
    """The library's recorder, plus views, idempotency keys and inbound tracking in-transaction.

    A thread may open a `batch()`: one transaction on one pooled connection, which every use of
    the datastore by that thread then shares (reads, saves, the application's queries), each save
    in a savepoint of its own; it commits once, at the end.
    """

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.schema = self.datastore.schema
        self._batch = _Batch()
        self._pooled = self.datastore.get_connection
        # The datastore's own `transaction()` and `cursor()` come here too.
        self.datastore.get_connection = self._connection  # type: ignore[method-assign]
        for statement in (
            "CREATE TABLE IF NOT EXISTS {schema}.idempotency ("
            " key text PRIMARY KEY, fingerprint text NOT NULL, status int NOT NULL,"
            " body jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())",
            "CREATE TABLE IF NOT EXISTS {schema}.inbound ("
            " consumer text NOT NULL, event_id uuid NOT NULL,"
            " processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id))",
            "CREATE TABLE IF NOT EXISTS {schema}.relay_position ("
            " id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), position bigint NOT NULL,"
            " updated_at timestamptz NOT NULL DEFAULT now())",
        ):
            self.sql_create_statements.append(sql.SQL(self.fmt(statement)))  # type: ignore[arg-type]

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        conn = self._batch.conn
        if conn is None:
            with self._pooled() as pooled:
                yield pooled
            return
        if conn.broken or conn.closed:
            # Not an OperationalError: the library would retry it, on this same lost connection.
            raise PersistenceError("the connection of the batch transaction was lost")
        with _library_errors():
            yield conn

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for everything this thread does with the datastore until it ends,
        committed at the end (rolled back when an exception escapes). Inside an open batch, a
        part of it."""
        if self._batch.conn is not None:
            yield
            return
        with self._pooled() as conn:
            with conn.transaction() as transaction:
                self._batch.conn, self._batch.locked = conn, False
                try:
                    yield
                    if conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR:
                        raise PersistenceError("the batch transaction failed and was rolled back")
                finally:
                    self._batch.conn = None
            if transaction.status != transaction.Status.COMMITTED:
                # psycopg leaves a transaction on a lost connection without a word.
                raise OperationalError("the batch transaction was not committed")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """In a batch: what is done inside is undone alone when it raises (a savepoint).
        Outside one: nothing (each save is a transaction of its own)."""
        conn = self._batch.conn
        if conn is None:
            yield
            return
        locked = self._batch.locked
        try:
            with self._connection(), conn.transaction():
                yield
        except BaseException:
            # A lock taken after the savepoint is released with it.
            self._batch.locked = locked
            raise

    @contextmanager
    def step(self) -> Iterator[None]:
        """In a batch: a savepoint rolled back to when the block raises, else kept until the
        commit (not released: a round trip less). Outside one: nothing."""
        conn = self._batch.conn
        if conn is None:
            yield
            return
        locked = self._batch.locked
        with self._connection():
            conn.execute("SAVEPOINT caseline_step", prepare=False)
        try:
            yield
        except BaseException:
            self._batch.locked = locked
            # When this fails too, the transaction is left failed, and the batch is not committed.
            with contextlib.suppress(Exception), self._connection():
                conn.execute("ROLLBACK TO SAVEPOINT caseline_step", prepare=False)
            raise

    def lock_for_batch(self) -> None:
        """In a batch, before its first write: the events table lock every insert takes, so
        that view rows are never locked before it (the order of every other writer)."""
        conn = self._batch.conn
        if conn is None or self._batch.locked:
            return
        with self._connection(), conn.cursor() as curs:
            self._lock_table(curs)
        self._batch.locked = True

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        conn = self._batch.conn
        if conn is None:
            ids: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return ids
        # In a batch: the library's statements, in a savepoint, with no retry on the batch's
        # connection; an error is raised inside the savepoint, which is then rolled back (the
        # library raises it after leaving its transaction block, which would release it).
        with self._connection(), conn.pipeline() as pipeline, self.savepoint():
            self.lock_for_batch()
            with conn.cursor() as curs:
                self._insert_events(curs, stored_events, **kwargs)
            if not stored_events:
                return None
            with conn.cursor() as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)
                pipeline.sync()
                return self._fetch_ids_after_insert_events(curs, stored_events, **kwargs)

    def _notify_channel(self, curs: Any) -> None:
        # The library sends a NOTIFY with every insert for its LISTEN-based subscriptions, which
        # Caseline does not use: the relay is woken in its own process after each commit, and
        # polls for what replicas record. A NOTIFY makes every commit that sent one queue for the
        # database's one notification lock: a quarter fewer small transactions a second with 8
        # writers (measured here), for messages nobody reads.
        return

    def fmt(self, statement: str) -> str:
        """Put the (quoted) schema name into a statement."""
        return statement.replace("{schema}", f'"{self.schema}"')

    def select_states(self, start: int, limit: int) -> list[tuple[int, bytes]]:
        """The notification log from `start` as (notification id, stored JSON state) only.

        What the relay and reconciliation read: no row objects, no decoding of ids or topics.
        """
        statement = self.fmt(
            f'SELECT notification_id, state FROM {{schema}}."{self.events_table_name}"'
            " WHERE notification_id >= %s ORDER BY notification_id LIMIT %s"
        )
        # Binary results: the state comes as its bytes, not as hex text to decode.
        with (
            self.datastore.get_connection() as conn,
            conn.cursor(row_factory=tuple_row, binary=True) as curs,
        ):
            curs.execute(statement, (start, limit), prepare=True)
            return [(int(row[0]), bytes(row[1])) for row in curs.fetchall()]

    def add_create_statements(self, statements: Iterable[str]) -> None:
        for statement in statements:
            self.sql_create_statements.append(sql.SQL(self.fmt(statement)))  # type: ignore[arg-type]

    def _extras(self, curs: Any, kwargs: dict[str, Any]) -> None:
        # Never server-prepared: these run in the events' pipeline after the insert, and when
        # that insert loses a race psycopg may cache a statement whose PREPARE the aborted
        # pipeline skipped; the library then commits (not rolls back), so the cache is not
        # cleared and the pooled connection fails every later use ("_pg3_N does not exist").
        idem: Idempotency | None = kwargs.get("idempotency")
        if idem is not None:
            curs.execute(
                self.fmt(
                    "INSERT INTO {schema}.idempotency (key, fingerprint, status, body)"
                    " VALUES (%s, %s, %s, %s)"
                ),
                (idem.key, idem.fingerprint, idem.status, json.dumps(idem.body)),
                prepare=False,
            )
        inbound: tuple[str, UUID] | None = kwargs.get("inbound")
        if inbound is not None:
            curs.execute(
                self.fmt("INSERT INTO {schema}.inbound (consumer, event_id) VALUES (%s, %s)"),
                inbound,
                prepare=False,
            )
        run_ops(curs, kwargs.get("view_ops") or (), self.fmt)

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # With events, the extras go after the events table lock (see below), so that two
        # writers never lock view rows and the events table in opposite orders.
        if not stored_events:
            self._extras(curs, kwargs)

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        # Another cursor: the library reads the notification ids from this one's last result.
        with curs.connection.cursor() as extras:
            self._extras(extras, kwargs)


class _Batch(threading.local):
    """A thread's open batch: its connection (None: no batch) and whether it holds the lock."""

    conn: Any = None
    locked: bool = False


_LIBRARY_ERRORS: tuple[tuple[type[psycopg.Error], type[PersistenceError]], ...] = (
    (psycopg.InterfaceError, InterfaceError),
    (psycopg.OperationalError, OperationalError),
    (psycopg.DataError, DataError),
    (psycopg.IntegrityError, IntegrityError),
    (psycopg.InternalError, InternalError),
    (psycopg.ProgrammingError, ProgrammingError),
    (psycopg.NotSupportedError, NotSupportedError),
    (psycopg.DatabaseError, DatabaseError),
    (psycopg.Error, PersistenceError),
)


@contextmanager
def _library_errors() -> Iterator[None]:
    """psycopg's errors as the library's, as `PostgresDatastore.get_connection` raises them."""
    try:
        yield
    except psycopg.Error as exc:
        mapped = next(ours for theirs, ours in _LIBRARY_ERRORS if isinstance(exc, theirs))
        raise mapped(str(exc)) from exc


def ensure_schema(settings: Settings, schema: str) -> None:
    """Create the service's schema if it does not exist (the library creates only tables)."""
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        # A service role owns its schema but may not create schemas (deploy/postgres/roles.sql),
        # and CREATE SCHEMA IF NOT EXISTS checks that right first: look before creating.
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if exists.fetchone():
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
