"""The ledger's append-only store in PostgreSQL: entries, per-case hash chains, Merkle tree nodes.

Each entry's RFC 8785 canonical bytes are fixed once at append time and everything hashes them as
stored (chain: SHA-256(prev ‖ canonical); tree leaf: RFC 9162); see docs/auditing.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import zlib
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from services.ledger.schema import SCHEMA, create_tables, tables_exist
from services.ledger.stored import STORED_COLUMNS, StoredEntry
from services.ledger.tree import Node, TreeBuilder, frontier_keys, leaf_hash
from shared.kit.canonical import canonical_json
from shared.kit.origins import signed_message
from shared.kit.pools import idle_checked_pool
from shared.kit.settings import Settings

__all__ = [
    "ENTRY_COLUMNS",
    "GENESIS",
    "Appendable",
    "Appended",
    "LedgerCorruptedError",
    "LedgerStore",
    "canonical_json",
    "entry_hash",
    "feed_on",
    "read_nodes",
    "rfc3339",
    "tree_size",
]

log = logging.getLogger("caseline.ledger")
GENESIS = bytes(32)
_APPEND_LOCK = zlib.crc32(b"caseline-ledger-append")
ENTRY_COLUMNS = "ledger_seq, case_id, case_seq, type, appended_at, canonical, prev_hash, hash"
"""The columns every verification reads, in this order."""


def entry_hash(prev_hash: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(prev_hash + canonical).digest()


def rfc3339(instant: datetime) -> str:
    """An instant as RFC 3339 UTC with microseconds, the form hashed into entries."""
    return instant.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class LedgerCorruptedError(RuntimeError):
    """The stored ledger is not consistent with itself: the ledger refuses to extend or sign it."""


@dataclass(frozen=True)
class Appendable:
    """One valid envelope to append: its id, case (subject), type, times and parsed JSON."""

    event_id: str
    case_id: str
    type: str
    time: datetime
    recordedtime: datetime
    envelope: dict[str, Any]


@dataclass(frozen=True)
class Appended:
    """What an append did with its items."""

    entries: list[Appendable]
    """The items appended, in ledger order."""
    conflicts: list[Appendable]
    """The items refused: the ledger (or the batch, before them) holds another envelope under
    their event id. An id is unique forever (SPEC §3): nothing of them is written."""


Implied = Callable[[psycopg.Connection[Any], Sequence[Appendable]], None]
"""What the appended entries imply, written in their append's transaction (who may see a case)."""


def feed_on(conn: psycopg.Connection[Any], after: int, limit: int) -> list[dict[str, Any]]:
    """The entries after `after` in ledger order, as the feed shows them (before visibility)."""
    rows = conn.execute(
        f"SELECT {STORED_COLUMNS} FROM {SCHEMA}.entries"
        " WHERE ledger_seq > %s ORDER BY ledger_seq LIMIT %s",
        (after, limit),
    ).fetchall()
    return [StoredEntry(*r).as_dict() for r in rows]


class LedgerStore:
    """Appends and reads ledger entries, tree nodes, checkpoints and cosignatures."""

    def __init__(self, settings: Settings, *, pool_size: int = 4) -> None:
        self.settings = settings
        self.listeners: list[Callable[[int], None]] = []  # told how many were appended
        # The tree's right edge after this process's last append: (size, newest entry's hash,
        # frontier). Used only when the tree, read under the append lock, is that size and ends
        # with that entry: otherwise (another ledger process appended) read from the database.
        self._edge: tuple[int, bytes, list[bytes]] | None = None
        self.pool: ConnectionPool[psycopg.Connection[Any]] = idle_checked_pool(
            settings.database.conninfo(),
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": tuple_row},
            open=True,
            timeout=5,
        )

    def create(self) -> None:
        """Create the tables unless they exist (a restricted role finds them made by the owner)."""
        with self.pool.connection() as conn:
            if tables_exist(conn):
                return
            conn.execute(f"SELECT pg_advisory_lock({_APPEND_LOCK})")
            try:
                create_tables(conn)
                conn.commit()
            finally:
                conn.execute(f"SELECT pg_advisory_unlock({_APPEND_LOCK})")
                conn.commit()

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self.pool.connection() as conn:
            yield conn

    def ping(self) -> None:
        with self.pool.connection() as conn:
            conn.execute("SELECT 1")

    # --- append ---------------------------------------------------------------------------

    def append(
        self,
        items: Sequence[Appendable],
        also: Callable[[psycopg.Connection[Any]], None] | None = None,
    ) -> int:
        """Append the items not yet in the ledger, in order, in one transaction; return how many.
        `also` writes in that same transaction when anything is appended (`append_batch` tells
        which items were, and which were refused)."""
        implied = None if also is None else lambda conn, _: also(conn)
        return len(self.append_batch(items, implied).entries)

    def append_batch(self, items: Sequence[Appendable], also: Implied | None = None) -> Appended:
        """Append the items whose event the ledger does not hold, in order, in one transaction.

        `also(conn, entries)` writes in that same transaction what the entries appended imply, and
        nothing for the others. An item under an id the ledger holds is a delivery again of the
        same event when it signs the same (its signature aside: a service may sign it again
        after a key rotation), left out silently; otherwise it is refused (`Appended.conflicts`).
        """
        if not items:
            return Appended([], [])
        cases = sorted({i.case_id for i in items})
        with self.pool.connection() as conn, conn.transaction():
            with conn.pipeline():
                # One appender at a time, whatever the number of ledger processes; everything
                # the append reads is read under that lock, in one round trip with it.
                conn.execute(f"SELECT pg_advisory_xact_lock({_APPEND_LOCK})")
                known = conn.execute(_KNOWN, ([i.event_id for i in items],))
                newest = conn.execute(_NEWEST)
                leaves = conn.execute(_LEAVES)
                clock = conn.execute("SELECT clock_timestamp()")
                case_heads = conn.execute(_HEADS, (cases,))
            fresh, conflicts = _sorted_out(items, {str(r[0]): r[1] for r in known.fetchall()})
            if not fresh:
                return Appended([], conflicts)
            last = newest.fetchone()
            ledger_seq = int(last[0]) if last else 0
            size = _tree_size(leaves.fetchone())
            builder = self._builder(conn, ledger_seq, size, bytes(last[2]) if last else b"")
            now = clock.fetchone()[0]  # type: ignore[index]
            # Appended times never go backwards, so `as_of` always selects a prefix of the ledger.
            appended_at = max(now, last[1]) if last else now
            heads = {r[0]: (r[1], bytes(r[2])) for r in case_heads.fetchall()}
            rows, nodes = _entries(fresh, heads, ledger_seq, appended_at, builder)
            # One round trip for both, binary (the canonical bytes and hashes go as they are),
            # and for what they imply: a sealed case is hidden from the instant its seal is in.
            with conn.pipeline():
                conn.execute(_INSERT_ENTRIES, [list(column) for column in zip(*rows, strict=True)])
                conn.execute(_INSERT_NODES, [list(column) for column in zip(*nodes, strict=True)])
                if also is not None:
                    also(conn, fresh)
        self._edge = (builder.size, rows[-1][-1], [digest for _, digest in builder.stack])
        for listener in self.listeners:
            listener(len(rows))
        return Appended(fresh, conflicts)

    def _builder(
        self, conn: psycopg.Connection[Any], ledger_seq: int, size: int, newest: bytes
    ) -> TreeBuilder:
        if size != ledger_seq:
            raise LedgerCorruptedError(
                f"the tree holds {size} leaves but the last entry is {ledger_seq}:"
                " refusing to append"
            )
        edge = self._edge
        if edge is not None and edge[0] == size and edge[1] == newest:
            return TreeBuilder(size, edge[2])
        keys = frontier_keys(size)
        nodes = read_nodes(conn, keys)
        return TreeBuilder(size, [nodes[k] for k in keys])

    # --- reads ----------------------------------------------------------------------------

    def timeline(
        self,
        case_id: str,
        *,
        types: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        as_of: datetime | None = None,
        visible: Collection[str] | None = None,
        limit: int = 10_000,
    ) -> list[StoredEntry]:
        """The case's entries in ledger order, filtered as asked (`visible`: only these types)."""
        clauses, params = ["case_id = %s"], [case_id]
        for wanted in (types or None, visible):
            if wanted is not None:
                clauses.append("type = ANY(%s)")
                params.append(list(wanted))  # type: ignore[arg-type]
        if since is not None:
            clauses.append("event_time >= %s")
            params.append(since)  # type: ignore[arg-type]
        if until is not None:
            clauses.append("event_time <= %s")
            params.append(until)  # type: ignore[arg-type]
        if as_of is not None:
            clauses.append("appended_at <= %s")
            params.append(as_of)  # type: ignore[arg-type]
        # Binary: a thousand entries' canonical bytes come without hex encoding and decoding.
        with self.pool.connection() as conn, conn.cursor(binary=True) as cur:
            cur.execute(
                f"SELECT {STORED_COLUMNS} FROM {SCHEMA}.entries WHERE {' AND '.join(clauses)}"
                " ORDER BY ledger_seq LIMIT %s",
                (*params, limit),
            )
            return [StoredEntry(*row) for row in cur]

    def feed(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Every entry after `after` in ledger order (the HTTP feed for partners)."""
        with self.pool.connection() as conn:
            return feed_on(conn, after, limit)

    def size(self) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.entries").fetchone()
        return int(row[0]) if row else 0

    def event_ids(self) -> set[str]:
        with self.pool.connection() as conn:
            return {str(r[0]) for r in conn.execute(f"SELECT event_id FROM {SCHEMA}.entries")}

    def case_rows(self, case_id: str, upto: int | None = None) -> list[tuple[Any, ...]]:
        """The case's rows (`ENTRY_COLUMNS`) in case order, up to ledger position `upto`."""
        with self.pool.connection() as conn:
            return conn.execute(
                f"SELECT {ENTRY_COLUMNS} FROM {SCHEMA}.entries"
                " WHERE case_id = %s AND ledger_seq <= %s ORDER BY case_seq",
                (case_id, upto if upto is not None else 2**62),
            ).fetchall()

    def nodes(self, keys: set[Node] | Sequence[Node], *, strict: bool = True) -> dict[Node, bytes]:
        with self.pool.connection() as conn:
            return read_nodes(conn, keys, strict=strict)

    def leaves(self, first: int, end: int) -> list[bytes]:
        """The leaf hashes of the entries with ledger positions in (first, end], in order (fewer
        than end - first where entries are missing)."""
        with self.pool.connection() as conn, conn.cursor(binary=True) as cur:
            cur.execute(
                f"SELECT canonical FROM {SCHEMA}.entries"
                " WHERE ledger_seq > %s AND ledger_seq <= %s ORDER BY ledger_seq",
                (first, end),
            )
            return [leaf_hash(bytes(row[0])) for row in cur]

    def last_seq(self) -> int:
        """The last entry's ledger position (0 for an empty ledger)."""
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT max(ledger_seq) FROM {SCHEMA}.entries").fetchone()
        return int(row[0] or 0) if row else 0

    def tree_size(self) -> int:
        with self.pool.connection() as conn:
            return tree_size(conn)

    def heads_rows(
        self, after: int, upto: int, conn: psycopg.Connection[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """(ledger_seq, case_id, case_seq, hash) of the entries in (after, upto], in order."""
        if conn is None:
            with self.pool.connection() as own:
                return self.heads_rows(after, upto, own)
        return conn.execute(
            f"SELECT ledger_seq, case_id, case_seq, hash FROM {SCHEMA}.entries"
            " WHERE ledger_seq > %s AND ledger_seq <= %s ORDER BY ledger_seq",
            (after, upto),
        ).fetchall()

    @contextmanager
    def stream(self, columns: str = ENTRY_COLUMNS, batch: int = 5000) -> Iterator[Iterator[Any]]:
        """Every entry in ledger order (binary server-side cursor), for whole-ledger checks.

        A reader thread fetches the next batch while the caller checks this one.
        """
        batches: queue.Queue[list[Any] | BaseException] = queue.Queue(maxsize=4)
        stop = threading.Event()

        def put(item: list[Any] | BaseException) -> None:
            while not stop.is_set():
                try:
                    batches.put(item, timeout=0.1)
                    return
                except queue.Full:
                    continue

        def read() -> None:
            try:
                with (
                    self.pool.connection() as conn,
                    conn.transaction(),
                    conn.cursor(name="ledger_stream", binary=True) as cur,
                ):
                    cur.execute(f"SELECT {columns} FROM {SCHEMA}.entries ORDER BY ledger_seq")
                    while not stop.is_set():
                        rows = cur.fetchmany(batch)
                        put(rows)
                        if not rows:
                            return
            except BaseException as exc:  # handed to the consumer, which raises it
                put(exc)

        def rows() -> Iterator[Any]:
            while True:
                item = batches.get()
                if isinstance(item, BaseException):
                    raise item
                if not item:
                    return
                yield from item

        reader = threading.Thread(target=read, name="ledger-stream", daemon=True)
        reader.start()
        try:
            yield rows()
        finally:
            stop.set()
            reader.join()


_LEAVES = f"SELECT idx FROM {SCHEMA}.tree_nodes WHERE level = 0 ORDER BY idx DESC LIMIT 1"


def tree_size(conn: psycopg.Connection[Any]) -> int:
    return _tree_size(conn.execute(_LEAVES).fetchone())


def _tree_size(last_leaf: Any) -> int:
    return int(last_leaf[0]) + 1 if last_leaf else 0


def read_nodes(
    conn: psycopg.Connection[Any], keys: set[Node] | Sequence[Node], *, strict: bool = True
) -> dict[Node, bytes]:
    """The stored hashes of these tree nodes; `strict`: every one must be there."""
    keys = list(keys)
    if not keys:
        return {}
    rows = conn.execute(
        f"SELECT level, idx, hash FROM {SCHEMA}.tree_nodes"
        " WHERE (level, idx) IN (SELECT * FROM unnest(%s::smallint[], %s::bigint[]))",
        ([k[0] for k in keys], [k[1] for k in keys]),
    ).fetchall()
    found = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}
    missing = [k for k in keys if k not in found] if strict else []
    if missing:
        raise LedgerCorruptedError(f"the tree lacks {len(missing)} node(s), e.g. {missing[0]}")
    return found


def _entries(
    fresh: Sequence[Appendable],
    heads: dict[str, tuple[int, bytes]],
    ledger_seq: int,
    appended_at: datetime,
    builder: TreeBuilder,
) -> tuple[list[tuple[Any, ...]], list[tuple[int, int, bytes]]]:
    """The new entries' rows (canonical bytes fixed here, once) and the tree nodes they make."""
    stamp = rfc3339(appended_at)
    rows, nodes = [], []
    for item in fresh:
        ledger_seq += 1
        case_seq, prev = heads.get(item.case_id, (0, GENESIS))
        case_seq += 1
        canonical = canonical_json(
            {
                "appended_at": stamp,
                "case_id": item.case_id,
                "case_seq": case_seq,
                "event": item.envelope,
                "ledger_seq": ledger_seq,
                "type": item.type,
            }
        )
        digest = entry_hash(prev, canonical)
        heads[item.case_id] = (case_seq, digest)
        nodes += builder.append(leaf_hash(canonical))
        rows.append(
            (ledger_seq, UUID(item.event_id), item.case_id, case_seq, item.type, item.time,
             item.recordedtime, appended_at, canonical, prev, digest)
        )  # fmt: skip
    return rows, nodes


_KNOWN = f"SELECT event_id, canonical FROM {SCHEMA}.entries WHERE event_id = ANY(%s::uuid[])"
_NEWEST = (
    f"SELECT ledger_seq, appended_at, hash FROM {SCHEMA}.entries ORDER BY ledger_seq DESC LIMIT 1"
)
_INSERT_ENTRIES = (
    f"INSERT INTO {SCHEMA}.entries (ledger_seq, event_id, case_id, case_seq, type, event_time,"
    " event_recorded_at, appended_at, canonical, prev_hash, hash)"
    " SELECT * FROM unnest(%b::int8[], %b::uuid[], %b::text[], %b::int4[], %b::text[],"
    " %b::timestamptz[], %b::timestamptz[], %b::timestamptz[], %b::bytea[], %b::bytea[],"
    " %b::bytea[])"
)
_INSERT_NODES = (
    f"INSERT INTO {SCHEMA}.tree_nodes (level, idx, hash)"
    " SELECT * FROM unnest(%b::int2[], %b::int8[], %b::bytea[])"
)
# One backward index probe per case, however long its history.
_HEADS = (
    "SELECT c.case_id, e.case_seq, e.hash FROM unnest(%s::text[]) AS c(case_id)"
    f" CROSS JOIN LATERAL (SELECT case_seq, hash FROM {SCHEMA}.entries"
    "  WHERE case_id = c.case_id ORDER BY case_seq DESC LIMIT 1) AS e"
)


def _sorted_out(
    items: Sequence[Appendable], stored: dict[str, bytes]
) -> tuple[list[Appendable], list[Appendable]]:
    """The items to append (each id once), and those under an id that the ledger (`stored`:
    event id → its entry's canonical bytes) or an earlier item holds with another envelope."""
    fresh: list[Appendable] = []
    conflicts: list[Appendable] = []
    first: dict[str, Appendable] = {}
    for item in items:
        if item.event_id in stored:
            held = json.loads(stored[item.event_id])["event"]
        elif item.event_id in first:
            held = first[item.event_id].envelope
        else:
            first[item.event_id] = item
            fresh.append(item)
            continue
        if signed_message(held) != signed_message(item.envelope):
            conflicts.append(item)
    return fresh, conflicts
