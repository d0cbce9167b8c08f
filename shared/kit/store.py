"""The event store every service uses: the `eventsourcing` library on PostgreSQL (psycopg 3).

Each service is one `CaselineApplication` in its own schema: commands load aggregates, `commit`
saves their events with views, idempotency key and inbound record (`shared.kit.recorder`) in one
transaction, and queries read the service's views.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4, uuid5

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    Notification,
    OperationalError,
    StoredEvent,
)
from psycopg_pool import PoolTimeout

from shared.events import EVENT_TYPES
from shared.kit.access_facts import CaseAccessView
from shared.kit.auth import require_voider
from shared.kit.clock import Clock
from shared.kit.domain import Meta
from shared.kit.errors import NotFoundError, StaleVersionError
from shared.kit.i18n import N_
from shared.kit.kept import KeptAggregates, project
from shared.kit.keystore import CaseKeyCipher, KeyStore, PostgresKeyStore
from shared.kit.memory import MemoryKeyStore, MemoryRecorder, NoViewsError
from shared.kit.observability import current_traceparent
from shared.kit.origins import service_key
from shared.kit.pools import check_when_idle
from shared.kit.recorder import (
    CaselineRecorder,
    CatalogueTranscoding,
    Entry,
    EntryIndex,
    Idempotency,
    MetaTranscoding,
    Op,
    View,
    ensure_schema,
    run_ops,
)
from shared.kit.scope import CaseAccess
from shared.kit.sealing import SealingMapper
from shared.kit.settings import Settings

__all__ = [
    "SYSTEM",
    "CaselineApplication",
    "CaselineRecorder",
    "CommandContext",
    "Entry",
    "EntryIndex",
    "Idempotency",
    "Op",
    "Recorded",
    "View",
    "ensure_schema",
]

log = logging.getLogger("caseline.store")

_INBOUND = "INSERT INTO {schema}.inbound (consumer, event_id) VALUES (%s, %s)"
"""That a consumer took an event (`record_inbound_batch`)."""

SYSTEM = "system"
_EVENT_ID_NAMESPACE = UUID("6b0f3f6e-3c52-4bd0-9f55-5a8f1f0c6a11")


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
    scope: Any = None
    """The caller's `shared.kit.scope.Scope` (None for the services' own reactions)."""
    case_id: str | None = None
    """The case the request names (its path's `case_id`, or the case of the entry it voids)."""

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
V = TypeVar("V", bound=View)


class CaselineApplication(Application[UUID]):
    """Base of every service's application: PostgreSQL in the service's own schema.

    `in_memory=True` (the fast tests only) runs it on the library's in-memory persistence
    (`eventsourcing.popo`) with per-case keys in memory and no views: commands, reactions and
    the queries that load aggregates work; whatever reads a view raises `NoViewsError`.
    """

    service: ClassVar[str]
    views: ClassVar[tuple[type[View], ...]] = ()
    kept_aggregates: ClassVar[tuple[type[Aggregate], ...]] = ()
    """Aggregates shared by many cases, with no personal value, kept in memory between commands
    and brought up to date at each load (`shared.kit.kept`)."""

    def __init__(
        self, settings: Settings, clock: Clock | None = None, *, in_memory: bool = False
    ) -> None:
        self.settings = settings
        self.clock = clock or Clock(offset_seconds=settings.clock_offset_seconds)
        self.in_memory = in_memory
        self.keys: KeyStore
        if in_memory:
            env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
            self.keys = MemoryKeyStore()
            self._view_objects: list[View] = []
        else:
            env = self._postgres_env(settings)
            self.keys = PostgresKeyStore(settings)
            self._view_objects = [EntryIndex(), CaseAccessView(), *(v() for v in self.views)]
        self.access = CaseAccess(self.fetch)
        for view in self._view_objects:
            view.bind(self)
        self.listeners: list[Callable[[], None]] = []
        self._unheard = _Unheard()
        super().__init__(env)
        self._kept = KeptAggregates(self.kept_aggregates, self._events_after)

    @functools.cached_property
    def _event_id_key(self) -> bytes:
        private = service_key(self.settings, self.service).private.private_bytes_raw()
        return hashlib.sha256(b"caseline reaction event ids\0" + private).digest()

    def _postgres_env(self, settings: Settings) -> dict[str, str]:
        db = settings.database
        ensure_schema(settings, self.service)
        return {
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
            # A pooled connection is checked (`SELECT 1`) before use only when it has been idle
            # for a while (`check_when_idle`), not before every transaction.
            "POSTGRES_PRE_PING": "y",
            "CREATE_TABLE": "y",
            "APPLICATION_RECORDER_TOPIC": "shared.kit.recorder:CaselineRecorder",
        }

    def view_object(self, kind: type[V]) -> V:
        """The application's read model of class `kind` (one of its `views`)."""
        return next(v for v in self._view_objects if isinstance(v, kind))

    def guarded(
        self, do: Callable[[CommandContext], Recorded]
    ) -> Callable[[CommandContext], Recorded]:
        """`do`, with this service's own translation of errors into refusals (none here)."""
        return do

    def _notify(self, recordings: list[Any]) -> None:
        super()._notify(recordings)
        if self._unheard.open:
            self._unheard.saved = True  # told when the batch commits, not before
            return
        for listener in self.listeners:
            listener()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for everything this thread records until the block ends (each save
        in a savepoint of its own), committed once at the end, then the listeners told; rolled
        back whole when an exception escapes. Inside an open batch, a part of it."""
        recorder = self.recorder
        if not isinstance(recorder, CaselineRecorder) or self._unheard.open:
            yield
            return
        self._unheard.open, self._unheard.saved = True, False
        try:
            with recorder.batch():
                yield
        finally:
            self._unheard.open = False
        if self._unheard.saved:
            for listener in self.listeners:
                try:
                    listener()
                except Exception:  # what was committed stays so: it is not to be retried
                    log.exception("a listener of %s failed", self.service)

    def savepoint(self) -> Any:
        """In a batch, what is done inside is undone alone when it raises; else nothing."""
        recorder = self.recorder
        if isinstance(recorder, CaselineRecorder):
            return recorder.step()
        return nullcontext()

    def construct_env(self, name: str, env: Any = None) -> Any:
        # Only the settings configure a service: stray POSTGRES_* variables must not leak in.
        from eventsourcing.utils import Environment

        return Environment(name, dict(env or {}))

    def construct_recorder(self) -> Any:
        if self.in_memory:
            return MemoryRecorder()
        recorder = super().construct_recorder()
        if not isinstance(recorder, CaselineRecorder):
            raise TypeError(f"the recorder is a {type(recorder).__name__}, not a CaselineRecorder")
        check_when_idle(recorder.datastore.pool)
        statements = [s for v in self._view_objects for s in v.create_statements]
        if statements:
            recorder.add_create_statements(statements)
            with recorder.datastore.transaction(commit=True) as curs:
                for statement in statements:
                    curs.execute(recorder.fmt(statement))
        return recorder

    def construct_mapper(self) -> Any:
        return SealingMapper(self.construct_transcoder(), CaseKeyCipher(self.keys))

    def shutdown(self) -> None:
        """Close the database pools (the library reserves the name `close`)."""
        self.factory.close()
        self.keys.close()

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(MetaTranscoding())
        for model in EVENT_TYPES:
            transcoder.register(CatalogueTranscoding(model))

    @property
    def store(self) -> CaselineRecorder:
        recorder = self.recorder
        if not isinstance(recorder, CaselineRecorder):
            raise TypeError(f"the recorder is a {type(recorder).__name__}, not a CaselineRecorder")
        return recorder

    # --- commands -------------------------------------------------------------------------

    def meta(self, ctx: CommandContext, subject: UUID | str, index: int = 0) -> Meta:
        """The `Meta` of the `index`-th event a command records about `subject`.

        A reaction's event ids follow from its cause (`CommandContext.system`), keyed by a secret
        of the service: the same on every replica and every redelivery, and unknown to anyone
        else. Anyone who saw the cause could otherwise publish first under the id the reaction
        will have, and JetStream's de-duplication would drop the genuine event as a repeat."""
        if index < len(ctx.event_ids):
            seed = ctx.event_ids[index].bytes
            keyed = hmac.new(self._event_id_key, seed, hashlib.sha256).digest()[:16]
            event_id = UUID(bytes=keyed, version=4)
        else:
            event_id = uuid4()
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

        aggregate: object
        if issubclass(cls, self.kept_aggregates):
            aggregate = self._kept.load(aggregate_id)
        else:
            try:
                aggregate = self.repository.get(aggregate_id, projector_func=project)
            except AggregateNotFoundError:
                raise _not_found(cls, aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise _not_found(cls, aggregate_id)
        expected = ctx.expected_version if ctx is not None else None
        if expected is not None and aggregate.version != expected:
            raise StaleVersionError(
                "the record is at version {version}, not {expected}: reload and retry",
                version=aggregate.version,
                expected=expected,
            )
        return aggregate

    def _events_after(self, aggregate_id: UUID, version: int | None) -> Iterable[Any]:
        return self.events.get(aggregate_id, gt=version)

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
        self.recorder.insert_events([], inbound=(consumer, event_id), view_ops=ops)

    def view_ops(self, events: Iterable[Any]) -> list[Op]:
        return [op for event in events for view in self._view_objects for op in view.apply(event)]

    def replayed_response(self, key: str, fingerprint: str) -> tuple[int, dict[str, Any]] | None:
        """The first response to a request with this idempotency key, if any.

        A key reused for a different request raises `IdempotencyMismatchError`.
        """
        from shared.kit.errors import IdempotencyMismatchError

        if isinstance(self.recorder, MemoryRecorder):
            kept = self.recorder.idempotency.get(key)
            rows = [(kept.fingerprint, kept.status, kept.body)] if kept else []
        else:
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
            "SELECT event_id, aggregate_id, version, subject, type, actor, recorded_at, agency"
            " FROM {schema}.entry_index WHERE event_id = %s",
            (event_id,),
        )
        return Entry(*rows[0]) if rows else None

    def entry_of(self, event_id: UUID) -> Entry:
        """The entry this service recorded with this event id, or 404 (what a voiding names)."""
        entry = self.find_entry(event_id)
        if entry is None:
            raise NotFoundError(
                "{service} recorded no entry {event_id}", service=self.service, event_id=event_id
            )
        return entry

    def entry_to_void(self, event_id: UUID, ctx: CommandContext) -> Entry:
        """The entry a voiding names, or 404; 403 unless the caller may void it: the role that
        records (or supervises) its type, for the agency that recorded it (the kit's one rule)."""
        entry = self.entry_of(event_id)
        require_voider(ctx.role, ctx.agency, entry.type, self._recorded_for(entry))
        return entry

    def _recorded_for(self, entry: Entry) -> str | None:
        """The agency an entry was recorded for (None: by the service itself), as indexed or,
        indexed before agencies were, as its stored event says."""
        agency = entry.agency
        if agency is None:
            stored = self.recorder.select_events(
                entry.aggregate_id, gt=entry.version - 1, lte=entry.version
            )
            agency = str(json.loads(stored[0].state)["meta"]["_data_"]["agency"])
        return None if agency == SYSTEM else agency

    def record_inbound_batch(self, consumer: str, noted: Sequence[tuple[UUID, list[Op]]]) -> int:
        """Note inbound events processed with no event of ours (views only), exactly once, a
        whole batch in one transaction: those noted before are skipped. Returns how many were
        new. The events are applied in the order given."""
        if isinstance(self.recorder, MemoryRecorder):
            new = [(e, ops) for e, ops in noted if not self.has_processed(consumer, e)]
            for event_id, ops in new:
                self.record_inbound_only(consumer, event_id, ops)
            return len(new)
        if not noted:
            return 0
        fmt = self.store.fmt
        self.store.lock_for_batch()
        with self.store.datastore.transaction(commit=True) as curs:
            curs.execute(
                fmt(
                    "SELECT event_id FROM {schema}.inbound WHERE consumer = %s AND event_id = ANY(%s)"
                ),
                (consumer, [e for e, _ in noted]),
                prepare=False,
            )
            done = {row["event_id"] for row in curs.fetchall()}
            fresh: list[Op] = []
            applied: list[Op] = []
            for event_id, ops in noted:
                if event_id in done:
                    continue
                done.add(event_id)
                fresh.append((_INBOUND, (consumer, event_id)))
                applied += ops
            # One round trip for the batch's statements, the records of what was taken first;
            # prepared, as the transaction is rolled back whole on any error.
            with curs.connection.pipeline():
                run_ops(curs, [*fresh, *applied], fmt, prepare=True)
        return len(fresh)

    def processed_among(self, consumer: str, event_ids: Sequence[UUID]) -> set[UUID]:
        """Which of `event_ids` this consumer has processed (one query)."""
        if not event_ids:
            return set()
        if isinstance(self.recorder, MemoryRecorder):
            return {e for e in event_ids if (consumer, e) in self.recorder.inbound}
        rows = self.fetch(
            "SELECT event_id FROM {schema}.inbound WHERE consumer = %s AND event_id = ANY(%s)",
            (consumer, list(event_ids)),
        )
        return {row[0] for row in rows}

    def has_processed(self, consumer: str, event_id: UUID) -> bool:
        if isinstance(self.recorder, MemoryRecorder):
            return (consumer, event_id) in self.recorder.inbound
        return bool(
            self.fetch(
                "SELECT 1 FROM {schema}.inbound WHERE consumer = %s AND event_id = %s",
                (consumer, event_id),
            )
        )

    # --- reads ----------------------------------------------------------------------------

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        if self.in_memory:
            raise NoViewsError(f"{self.service} runs in memory: reading its views needs PostgreSQL")
        with (
            self.store.datastore.get_connection() as conn,
            conn.cursor(row_factory=psycopg.rows.tuple_row) as curs,
        ):
            yield curs

    def fetch(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read on the service's own schema (`{schema}` is replaced); once more when the
        pooled connection had died (PostgreSQL restarted since it was last used), after the
        pool's idle connections were checked and the dead ones dropped."""
        try:
            return self._fetch(statement, params)
        except (OperationalError, InterfaceError) as exc:
            if isinstance(exc.__cause__, PoolTimeout):
                raise  # no connection to be had: the database is down, say so at once
            self.store.datastore.pool.check()
            return self._fetch(statement, params)

    def _fetch(self, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
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

    @property
    def view_tables(self) -> list[str]:
        return [t for v in self._view_objects for t in v.tables]

    def _qualified(self, tables: list[str]) -> str:
        return ", ".join(self.store.fmt("{schema}." + t) for t in tables)

    @contextmanager
    def frozen(self) -> Iterator[Any]:
        """A transaction in which nothing of this service changes: its events table and views are
        locked against every writer (reads go on) until it ends. Writers wait meanwhile."""
        tables = [f'"{self.store.events_table_name}"', *self.view_tables]
        with self.store.datastore.transaction(commit=True) as curs:
            curs.execute(f"LOCK TABLE {self._qualified(tables)} IN EXCLUSIVE MODE")
            yield curs

    def rebuild_views(
        self, progress: Callable[[int], None] | None = None, *, within: Any = None
    ) -> int:
        """Truncate every view and re-apply every stored event; returns the events replayed.

        `within`: the cursor of a transaction already open (`frozen()`), else one of its own.
        """
        if within is None:
            with self.store.datastore.transaction(commit=True) as curs:
                return self._rebuild_views(curs, progress)
        return self._rebuild_views(within, progress)

    def rebuild_view_tables(self, tables: Sequence[str], curs: Any) -> int:
        """Drop the views owning `tables`, create them as this code defines them, and refold
        them from every stored event (a migration's "rebuild view"); returns the events read."""
        views = [v for v in self._view_objects if set(v.tables) & set(tables)]
        unknown = set(tables) - {t for v in views for t in v.tables}
        if unknown:
            raise LookupError(f"{self.service} has no view {', '.join(sorted(unknown))}")
        owned = [t for v in views for t in v.tables]
        curs.execute(f"DROP TABLE IF EXISTS {self._qualified(owned)} CASCADE")
        for view in views:
            for statement in view.create_statements:
                curs.execute(self.store.fmt(statement))
        return self._refold(curs, views, None)

    def _rebuild_views(self, curs: Any, progress: Callable[[int], None] | None) -> int:
        tables = self.view_tables
        if tables:
            curs.execute(f"TRUNCATE {self._qualified(tables)}")
        return self._refold(curs, self._view_objects, progress)

    def _refold(
        self, curs: Any, views: Sequence[View], progress: Callable[[int], None] | None
    ) -> int:
        count = 0
        start = 1
        while True:
            batch = self.recorder.select_notifications(start=start, limit=500)
            if not batch:
                break
            ops = [
                op
                for notification in batch
                for op in (op for view in views for op in view.apply(self.decode(notification)))
            ]
            run_ops(curs, ops, self.store.fmt, prepare=True)
            count += len(batch)
            start = batch[-1].id + 1
            if progress:
                progress(count)
        return count


class _Unheard(threading.local):
    """A thread's open batch, as the listeners see it: whether one is open, and whether it has
    saved events they have not been told of."""

    open: bool = False
    saved: bool = False


def fingerprint(*parts: Any) -> str:
    """A stable digest of a request (method, path, body) for idempotency checks."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


__all__ += ["IntegrityError", "fingerprint"]


# What the caller was looking for, in its own words (each translated: shared/locale).
_MISSING = {
    "case": N_("no case {aggregate_id}", "not-found"),
    "casefile": N_("no case {aggregate_id}", "not-found"),
    "programme": N_("no programme {aggregate_id}", "not-found"),
    "instrument": N_("no instrument {aggregate_id}", "not-found"),
}


def _not_found(cls: type, aggregate_id: UUID) -> NotFoundError:
    kind = cls.__name__.lower()
    if kind in _MISSING:
        return NotFoundError(_MISSING[kind], aggregate_id=aggregate_id)
    return NotFoundError("no {kind} {aggregate_id}", kind=kind, aggregate_id=aggregate_id)
