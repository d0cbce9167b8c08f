"""The event store every service uses: the `eventsourcing` library on PostgreSQL (psycopg 3).

Each service is one `CaselineApplication` in its own schema. Stored events carry a catalogue
payload (`data`) and a `Meta` (ids, actor, causation); read models (`View`s), idempotency keys
and the record of processed inbound events are written in the same transaction as the events.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4, uuid5

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    JSONTranscoder,
    Notification,
    StoredEvent,
    Transcoding,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from shared.events import EVENT_TYPES, CatalogueEvent
from shared.kit.clock import Clock
from shared.kit.errors import NotFoundError, StaleVersionError
from shared.kit.observability import current_traceparent
from shared.kit.settings import Settings

__all__ = [
    "SYSTEM",
    "CaselineApplication",
    "CaselineRecorder",
    "CommandContext",
    "Entry",
    "EntryIndex",
    "Idempotency",
    "Meta",
    "Op",
    "Recorded",
    "View",
    "ensure_schema",
]

SYSTEM = "system"
_EVENT_ID_NAMESPACE = UUID("6b0f3f6e-3c52-4bd0-9f55-5a8f1f0c6a11")

Op = tuple[str, Sequence[Any]]
"""One SQL statement for a view, with `{schema}` where the service's schema goes."""


@dataclass(frozen=True)
class Meta:
    """What every stored event carries besides its payload: the envelope's facts."""

    event_id: UUID
    subject: str
    actor: str
    agency: str
    recorded_at: datetime
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    traceparent: str | None = None


class _MetaAsDict(Transcoding):
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


class _CatalogueModel(Transcoding):
    """Stores a catalogue payload as its JSON form, tagged with its event type."""

    def __init__(self, model: type[CatalogueEvent]) -> None:
        self.type = model
        self.name = model.type_name()

    def encode(self, obj: CatalogueEvent) -> dict[str, Any]:
        return obj.model_dump(mode="json")

    def decode(self, data: dict[str, Any]) -> CatalogueEvent:
        return self.type.model_validate(data)


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
        " recorded_at timestamptz NOT NULL)",
    )

    def apply(self, event: Any) -> list[Op]:
        data, meta = getattr(event, "data", None), getattr(event, "meta", None)
        if not isinstance(data, CatalogueEvent) or not isinstance(meta, Meta):
            return []
        return [
            (
                "INSERT INTO {schema}.entry_index (event_id, aggregate_id, version, subject, type,"
                " actor, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (event_id) DO NOTHING",
                (
                    meta.event_id,
                    event.originator_id,
                    event.originator_version,
                    meta.subject,
                    data.type_name(),
                    meta.actor,
                    meta.recorded_at,
                ),
            )
        ]


@dataclass(frozen=True)
class Entry:
    """Where an entry (an event, by its id) lives: its aggregate and version, type, actor."""

    event_id: UUID
    aggregate_id: UUID
    version: int
    subject: str
    type: str
    actor: str
    recorded_at: datetime


class CaselineRecorder(PostgresApplicationRecorder):
    """The library's recorder, plus views, idempotency keys and inbound tracking in-transaction."""

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.schema = self.datastore.schema
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

    def fmt(self, statement: str) -> str:
        """Put the (quoted) schema name into a statement."""
        return statement.replace("{schema}", f'"{self.schema}"')

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
        for statement, params in kwargs.get("view_ops") or ():
            curs.execute(self.fmt(statement), params, prepare=False)

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


def ensure_schema(settings: Settings, schema: str) -> None:
    """Create the service's schema if it does not exist (the library creates only tables)."""
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        # A service role owns its schema but may not create schemas (deploy/postgres/roles.sql),
        # and CREATE SCHEMA IF NOT EXISTS checks that right first: look before creating.
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if exists.fetchone():
            return
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


@dataclass(frozen=True)
class CommandContext:
    """Who is asking, and how: the facts a command needs besides its payload."""

    actor: str
    agency: str
    role: str = ""
    correlation_id: UUID = field(default_factory=uuid4)
    causation_id: UUID | None = None
    traceparent: str | None = None
    idempotency_key: str | None = None
    fingerprint: str = ""
    expected_version: int | None = None
    event_ids: tuple[UUID, ...] = ()
    """Deterministic ids for the events of a reaction (so a redelivery cannot add one)."""

    @classmethod
    def system(cls, cause: Any = None, *, purpose: str = "") -> CommandContext:
        """The context of an automatic event, reacting to `cause` (a `Meta`-like envelope)."""
        if cause is None:
            return cls(actor=SYSTEM, agency=SYSTEM)
        cause_id = UUID(str(cause.id))
        return cls(
            actor=SYSTEM,
            agency=SYSTEM,
            correlation_id=UUID(str(cause.correlationid)) if cause.correlationid else cause_id,
            causation_id=cause_id,
            traceparent=current_traceparent() or cause.traceparent,
            event_ids=tuple(uuid5(cause_id, f"{purpose}:{i}") for i in range(16)),
        )


@dataclass
class Recorded:
    """What a command answers: the case, the (last) event recorded, the new version, new ids."""

    case_id: UUID | str | None
    event_id: UUID
    version: int
    event_ids: list[UUID] = field(default_factory=list)
    ids: dict[str, UUID | str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "case_id": str(self.case_id) if self.case_id is not None else None,
            "event_id": str(self.event_id),
            "version": self.version,
        }
        if len(self.event_ids) > 1:
            out["event_ids"] = [str(e) for e in self.event_ids]
        out.update({k: str(v) for k, v in self.ids.items()})
        return out


A = TypeVar("A", bound=Aggregate)


class CaselineApplication(Application[UUID]):
    """Base of every service's application: PostgreSQL in the service's own schema."""

    service: ClassVar[str]
    views: ClassVar[tuple[type[View], ...]] = ()

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or Clock(offset_seconds=settings.clock_offset_seconds)
        db = settings.database
        ensure_schema(settings, self.service)
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": db.dbname,
            "POSTGRES_HOST": db.host,
            "POSTGRES_PORT": str(db.port),
            "POSTGRES_USER": db.user,
            "POSTGRES_PASSWORD": db.password,
            "POSTGRES_SCHEMA": self.service,
            "POSTGRES_POOL_SIZE": str(settings.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(settings.pool_size),
            # Also the pool checkout timeout: under a burst (50 concurrent requests on a 2-core
            # machine) a request may wait its turn for a connection for several seconds.
            "POSTGRES_CONNECT_TIMEOUT": "15",
            "POSTGRES_LOCK_TIMEOUT": "10",
            "POSTGRES_PRE_PING": "y",
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": "shared.kit.store:CaselineRecorder",
        }
        from shared.kit.keystore import PostgresKeyStore

        self.keys = PostgresKeyStore(settings)
        self._view_objects = [EntryIndex(), *(view() for view in self.views)]
        for view in self._view_objects:
            view.bind(self)
        self.listeners: list[Callable[[], None]] = []
        super().__init__(env)

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        for listener in self.listeners:
            listener()

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Only the settings configure a service: stray POSTGRES_* variables must not leak in.
        from eventsourcing.utils import Environment

        return Environment(name, dict(env or {}))

    def construct_recorder(self) -> Any:
        recorder = super().construct_recorder()
        assert isinstance(recorder, CaselineRecorder)
        statements = [s for v in self._view_objects for s in v.create_statements]
        if statements:
            recorder.add_create_statements(statements)
            with recorder.datastore.transaction(commit=True) as curs:
                for statement in statements:
                    curs.execute(recorder.fmt(statement))  # type: ignore[call-overload]
        return recorder

    def construct_mapper(self) -> Any:
        from shared.kit.keystore import CaseKeyCipher
        from shared.kit.sealing import SealingMapper

        return SealingMapper(self.construct_transcoder(), CaseKeyCipher(self.keys))

    def shutdown(self) -> None:
        """Close the database pools (the library reserves the name `close`)."""
        self.factory.close()
        self.keys.close()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(_MetaAsDict())
        for model in EVENT_TYPES:
            transcoder.register(_CatalogueModel(model))

    @property
    def store(self) -> CaselineRecorder:
        recorder = self.recorder
        assert isinstance(recorder, CaselineRecorder)
        return recorder

    # --- commands -------------------------------------------------------------------------

    def meta(self, ctx: CommandContext, subject: UUID | str, index: int = 0) -> Meta:
        """The `Meta` of the `index`-th event a command records about `subject`."""
        event_id = ctx.event_ids[index] if index < len(ctx.event_ids) else uuid4()
        return Meta(
            event_id=event_id,
            subject=str(subject),
            actor=ctx.actor,
            agency=ctx.agency,
            recorded_at=self.clock.now(),
            correlation_id=ctx.correlation_id,
            causation_id=ctx.causation_id,
            traceparent=ctx.traceparent,
        )

    def load(self, cls: type[A], aggregate_id: UUID, ctx: CommandContext | None = None) -> A:
        """The aggregate, or 404; 412 when the client's `If-Match` version is stale."""
        from eventsourcing.application import AggregateNotFoundError

        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFoundError(f"no {cls.__name__.lower()} {aggregate_id}") from None
        if not isinstance(aggregate, cls):
            raise NotFoundError(f"no {cls.__name__.lower()} {aggregate_id}")
        expected = ctx.expected_version if ctx is not None else None
        if expected is not None and aggregate.version != expected:
            raise StaleVersionError(
                f"the record is at version {aggregate.version}, not {expected}: reload and retry"
            )
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def commit(
        self,
        ctx: CommandContext,
        *aggregates: Aggregate,
        case_id: UUID | str | None = None,
        ids: dict[str, UUID | str] | None = None,
        inbound: tuple[str, UUID] | None = None,
    ) -> Recorded:
        """Save the aggregates' new events, with views, idempotency key and inbound record."""
        pending = [e for a in aggregates for e in a.pending_events]
        event_ids = [e.meta.event_id for e in pending if hasattr(e, "meta")]
        last = aggregates[0]
        recorded = Recorded(
            case_id=case_id if case_id is not None else last.id,
            event_id=event_ids[-1] if event_ids else _EVENT_ID_NAMESPACE,
            version=last.version,
            event_ids=event_ids,
            ids=dict(ids or {}),
        )
        idem = None
        if ctx.idempotency_key:
            idem = Idempotency(
                key=ctx.idempotency_key, fingerprint=ctx.fingerprint, body=recorded.body()
            )
        self.save(
            *aggregates,
            view_ops=self.view_ops(pending),
            idempotency=idem,
            inbound=inbound,
        )
        return recorded

    def record_inbound_only(self, consumer: str, event_id: UUID, ops: list[Op]) -> None:
        """Note an inbound event processed with no event of ours (views only), exactly once."""
        self.store.insert_events([], inbound=(consumer, event_id), view_ops=ops)

    def view_ops(self, events: Iterable[Any]) -> list[Op]:
        return [op for event in events for view in self._view_objects for op in view.apply(event)]

    def replayed_response(self, key: str, fingerprint: str) -> tuple[int, dict[str, Any]] | None:
        """The first response to a request with this idempotency key, if any.

        A key reused for a different request raises `IdempotencyMismatchError`.
        """
        from shared.kit.errors import IdempotencyMismatchError

        rows = self.fetch(
            "SELECT fingerprint, status, body FROM {schema}.idempotency WHERE key = %s", (key,)
        )
        if not rows:
            return None
        fp, status, body = rows[0]
        if fp != fingerprint:
            raise IdempotencyMismatchError(
                "this Idempotency-Key was already used for a different request"
            )
        return int(status), body

    def find_entry(self, event_id: UUID) -> Entry | None:
        """The entry recorded with this event id, if this service recorded it."""
        rows = self.fetch(
            "SELECT event_id, aggregate_id, version, subject, type, actor, recorded_at"
            " FROM {schema}.entry_index WHERE event_id = %s",
            (event_id,),
        )
        return Entry(*rows[0]) if rows else None

    def has_processed(self, consumer: str, event_id: UUID) -> bool:
        return bool(
            self.fetch(
                "SELECT 1 FROM {schema}.inbound WHERE consumer = %s AND event_id = %s",
                (consumer, event_id),
            )
        )

    # --- reads ----------------------------------------------------------------------------

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with (
            self.store.datastore.get_connection() as conn,
            conn.cursor(row_factory=psycopg.rows.tuple_row) as curs,
        ):
            yield curs

    def fetch(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read on the service's own schema (`{schema}` is replaced)."""
        with self.cursor() as curs:
            curs.execute(self.store.fmt(statement), params)
            return list(curs.fetchall())

    def notifications(self, start: int, limit: int) -> Sequence[Notification]:
        return self.recorder.select_notifications(start=start, limit=limit)

    def decode(self, notification: StoredEvent) -> Any:
        return self.mapper.to_domain_event(notification)

    def decode_sealed(self, notification: StoredEvent) -> Any:
        """The stored event as stored: personal fields sealed, their ciphertext in `personal`."""
        return self.mapper.to_domain_event(notification, sealed=True)  # type: ignore[call-arg]

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        self.fetch("SELECT 1")

    def rebuild_views(self, progress: Callable[[int], None] | None = None) -> int:
        """Truncate every view and re-apply every stored event; returns the events replayed."""
        tables = [t for v in self._view_objects for t in v.tables]
        count = 0
        with self.store.datastore.transaction(commit=True) as curs:
            if tables:
                curs.execute(  # type: ignore[call-overload]
                    "TRUNCATE " + ", ".join(self.store.fmt("{schema}." + t) for t in tables)
                )
            start = 1
            while True:
                batch = self.recorder.select_notifications(start=start, limit=500)
                if not batch:
                    break
                for notification in batch:
                    for statement, params in self.view_ops([self.decode(notification)]):
                        curs.execute(self.store.fmt(statement), params)  # type: ignore[call-overload]
                count += len(batch)
                start = batch[-1].id + 1
                if progress:
                    progress(count)
        return count


def fingerprint(*parts: Any) -> str:
    """A stable digest of a request (method, path, body) for idempotency checks."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


__all__ += ["IntegrityError", "fingerprint"]
