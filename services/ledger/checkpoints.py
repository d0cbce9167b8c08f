"""Signed checkpoints: the tree's size and root and the case heads' root, every N entries or T s.

The case-heads tree (one leaf per case: its last entry as of the checkpoint) lets an evidence
bundle prove that no later entry of its case was cut off.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
import rfc8785
from cryptography.hazmat.primitives import serialization

from services.ledger.schema import SCHEMA
from services.ledger.signing import (
    LedgerKey,
    Statement,
    cosignature_message,
    key_id,
    verify_signature,
)
from services.ledger.store import (
    LedgerCorruptedError,
    LedgerStore,
    read_nodes,
    rfc3339,
    tree_size,
)
from services.ledger.tree import (
    TreeBuilder,
    inclusion_ranges,
    leaf_hash,
    leaves_range_hash,
    perfect_nodes,
    range_hash,
)
from shared.kit.clock import Clock
from shared.kit.errors import ForbiddenError, NotFoundError

__all__ = ["CaseHeads", "Checkpoint", "Checkpointer", "Cosignature", "lock_checkpoints"]

log = logging.getLogger("caseline.ledger.checkpoints")
_CHECKPOINT_LOCK = zlib.crc32(b"caseline-ledger-checkpoint")
_CHECKPOINT_COLUMNS = (
    "tree_size, root_hash, heads_size, heads_root, signed_at, key_id, statement, signature"
)


@dataclass(frozen=True)
class Cosignature:
    witness: str
    key_id: str
    signature: bytes

    def body(self) -> dict[str, Any]:
        return {
            "witness": self.witness,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the tree at `tree_size` entries."""

    tree_size: int
    root_hash: bytes
    heads_size: int
    heads_root: bytes
    signed_at: datetime
    key_id: str
    statement: bytes
    signature: bytes
    cosignatures: tuple[Cosignature, ...] = field(default=())

    @classmethod
    def from_row(cls, row: Sequence[Any], cosignatures: Sequence[Cosignature] = ()) -> Checkpoint:
        size, root, heads_size, heads_root, signed_at, kid, statement, signature = row
        return cls(
            int(size), bytes(root), int(heads_size), bytes(heads_root), signed_at, kid,
            bytes(statement), bytes(signature), tuple(cosignatures),
        )  # fmt: skip

    def body(self) -> dict[str, Any]:
        """The JSON form served by `GET /checkpoints/…` (SPEC §7 names first)."""
        return {
            "ledger_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "signed_at": rfc3339(self.signed_at),
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
            "heads_size": self.heads_size,
            "heads_root": self.heads_root.hex(),
            "statement": base64.b64encode(self.statement).decode(),
            "cosignatures": [c.body() for c in self.cosignatures],
        }


class CaseHeads:
    """Each case's last entry as of `size` ledger entries, and the Merkle tree over them.

    Leaves are the RFC 8785 bytes of `{case_id, case_seq, head_hash, ledger_seq}`, ordered by
    case id; only changed cases are re-encoded when the heads advance.
    """

    def __init__(self) -> None:
        self.size = 0
        self.heads: dict[str, tuple[int, int, bytes]] = {}
        self._leaves: dict[str, tuple[bytes, bytes]] = {}

    def advance(self, rows: Sequence[Sequence[Any]], upto: int) -> None:
        """Take in the rows (ledger_seq, case_id, case_seq, hash) in (size, upto]."""
        for ledger_seq, case_id, case_seq, digest in rows:
            self.heads[case_id] = (int(case_seq), int(ledger_seq), bytes(digest))
            self._leaves.pop(case_id, None)
        self.size = upto

    def copy(self) -> CaseHeads:
        """A snapshot that later advances of this one do not change."""
        other = CaseHeads()
        other.size, other.heads, other._leaves = self.size, dict(self.heads), dict(self._leaves)
        return other

    def leaf(self, case_id: str) -> tuple[bytes, bytes]:
        """The leaf bytes of a case and their hash."""
        cached = self._leaves.get(case_id)
        if cached is None:
            case_seq, ledger_seq, digest = self.heads[case_id]
            data = rfc8785.dumps(
                {"case_id": case_id, "case_seq": case_seq, "head_hash": digest.hex(),
                 "ledger_seq": ledger_seq}
            )  # fmt: skip
            cached = self._leaves[case_id] = (data, leaf_hash(data))
        return cached

    def ordered(self) -> list[str]:
        return sorted(self.heads)

    def root(self) -> tuple[int, bytes]:
        builder = TreeBuilder()
        for case_id in self.ordered():
            builder.append(self.leaf(case_id)[1])
        return builder.size, builder.root()

    def proof(self, case_id: str) -> dict[str, Any] | None:
        """The case's head leaf, its index among the heads, and its inclusion path."""
        if case_id not in self.heads:
            return None
        order = self.ordered()
        index = order.index(case_id)
        hashes = [self.leaf(c)[1] for c in order]
        hash_of = leaves_range_hash(hashes)
        path = [hash_of(a, b) for a, b in inclusion_ranges(index, 0, len(order))]
        return {
            "leaf": base64.b64encode(self.leaf(case_id)[0]).decode(),
            "index": index,
            "heads_size": len(order),
            "proof": [p.hex() for p in path],
        }


class Checkpointer:
    """Makes, reads and collects cosignatures for checkpoints; one per ledger process."""

    def __init__(
        self,
        store: LedgerStore,
        key: LedgerKey,
        clock: Clock | None = None,
        *,
        every: int = 1000,
        seconds: float = 10.0,
    ) -> None:
        self.store = store
        self.key = key
        self.clock = clock or Clock()
        self.every = every
        self.seconds = seconds
        self.heads = CaseHeads()
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._appended = 0  # entries this process appended since the tree was last looked at

    # --- reads ----------------------------------------------------------------------------

    def latest(self) -> Checkpoint | None:
        with self.store.connection() as conn:
            row = conn.execute(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM {SCHEMA}.checkpoints"
                " ORDER BY tree_size DESC LIMIT 1"
            ).fetchone()
        return self.get(int(row[0])) if row else None

    def get(self, size: int) -> Checkpoint | None:
        with self.store.connection() as conn:
            row = conn.execute(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM {SCHEMA}.checkpoints WHERE tree_size = %s",
                (size,),
            ).fetchone()
            if row is None:
                return None
            cosigs = conn.execute(
                f"SELECT witness, key_id, signature FROM {SCHEMA}.cosignatures"
                " WHERE tree_size = %s ORDER BY witness",
                (size,),
            ).fetchall()
        return Checkpoint.from_row(row, [Cosignature(w, k, bytes(s)) for w, k, s in cosigs])

    def all(self) -> list[Checkpoint]:
        """Every checkpoint with its cosignatures, smallest first."""
        with self.store.connection() as conn:
            rows = conn.execute(
                f"SELECT {_CHECKPOINT_COLUMNS} FROM {SCHEMA}.checkpoints ORDER BY tree_size"
            ).fetchall()
            cosigs: dict[int, list[Cosignature]] = {}
            for size, w, k, s in conn.execute(
                f"SELECT tree_size, witness, key_id, signature FROM {SCHEMA}.cosignatures"
                " ORDER BY tree_size, witness"
            ):
                cosigs.setdefault(int(size), []).append(Cosignature(w, k, bytes(s)))
        return [Checkpoint.from_row(r, cosigs.get(int(r[0]), ())) for r in rows]

    def heads_at(self, size: int, conn: psycopg.Connection[Any] | None = None) -> CaseHeads:
        """The case heads as of `size` entries (from this process's running heads when it can)."""
        with self._lock:
            if size >= self.heads.size:
                self.heads.advance(self.store.heads_rows(self.heads.size, size, conn), size)
                return self.heads.copy()
        heads = CaseHeads()
        heads.advance(self.store.heads_rows(0, size, conn), size)
        return heads

    # --- making checkpoints ---------------------------------------------------------------

    def checkpoint_now(self) -> Checkpoint | None:
        """Sign the tree as it stands unless the latest checkpoint already covers it."""
        with self.store.connection() as conn, conn.transaction():
            lock_checkpoints(conn)
            latest = _latest_row(conn)
            size, last = _sizes(conn)
            if size == 0 or (latest is not None and size <= int(latest[0])):
                made = None
            elif (successor := _successor(conn, self.key.key_id)) is not None:
                # The handover named the last tree size this key signed: anything it signed
                # now would be refused by every verifier.
                log.warning(
                    "no checkpoint signed: the checkpoint key %s was handed over to key %s;"
                    " restart the ledger with the new key",
                    self.key.key_id,
                    successor,
                )
                made = None
            else:
                if last != size:
                    raise LedgerCorruptedError(
                        f"the tree holds {size} leaves, the entries end at {last}"
                    )
                made = self._sign(conn, size, latest)
        if made is not None:
            log.info("checkpoint %s signed (root %s)", made.tree_size, made.root_hash.hex()[:16])
        return made or self.latest()

    def _sign(self, conn: psycopg.Connection[Any], size: int, latest: Any) -> Checkpoint:
        root = _root(conn, size)
        if latest is not None and _root(conn, int(latest[0])) != bytes(latest[1]):
            raise LedgerCorruptedError(
                f"the stored tree no longer has the root signed at size {latest[0]}:"
                " refusing to sign"
            )
        # The same connection: a second one from the pool could wait behind other signers.
        heads_size, heads_root = self.heads_at(size, conn).root()
        statement = Statement(
            tree_size=size,
            root_hash=root,
            heads_size=heads_size,
            heads_root=heads_root,
            signed_at=rfc3339(self.clock.now()),
            key_id=self.key.key_id,
        )
        data = statement.encode()
        signature = self.key.sign(data)
        conn.execute(
            f"INSERT INTO {SCHEMA}.checkpoints ({_CHECKPOINT_COLUMNS})"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (size, root, heads_size, heads_root, statement.signed_at, self.key.key_id, data,
             signature),
        )  # fmt: skip
        return Checkpoint(
            size, root, heads_size, heads_root, datetime.fromisoformat(statement.signed_at),
            self.key.key_id, data, signature,
        )  # fmt: skip

    def pending(self) -> int:
        """Entries not yet covered by a checkpoint."""
        with self.store.connection() as conn:
            latest = _latest_row(conn)
            return tree_size(conn) - (int(latest[0]) if latest else 0)

    def wake(self, appended: int = 0) -> None:
        """Called after each append, with the number of entries it added (from any thread)."""
        self._appended += appended  # a hint only: a lost increment is made up by the timer
        if self._loop is not None and self._wake is not None:
            # The loop is gone once the service has stopped; nothing is waiting then.
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Sign a checkpoint after `every` new entries, or `seconds` after the last one."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        last = time.monotonic()
        while True:
            with contextlib.suppress(TimeoutError):
                # Not `wait_for`, which may lose the cancellation that stops this (3.11).
                async with asyncio.timeout(max(0.05, last + self.seconds - time.monotonic())):
                    await self._wake.wait()
            self._wake.clear()
            if self._appended < self.every and time.monotonic() - last < self.seconds:
                # Fewer new entries than a checkpoint waits for, and not yet time: nothing to
                # ask the database (another ledger process's appends wait for the timer).
                continue
            self._appended = 0
            try:
                pending = await asyncio.to_thread(self.pending)
                if pending and (pending >= self.every or time.monotonic() - last >= self.seconds):
                    await asyncio.to_thread(self.checkpoint_now)
                    last = time.monotonic()
                elif not pending:
                    last = time.monotonic()
            except (LedgerCorruptedError, psycopg.Error) as exc:
                log.error("no checkpoint signed: %s", exc)
                last = time.monotonic()

    # --- witnesses ------------------------------------------------------------------------

    def cosign(
        self, size: int, witness: str, signature: bytes, registry: dict[str, Any]
    ) -> Checkpoint:
        """Keep a witness's countersignature of checkpoint `size`, once it verifies."""
        checkpoint = self.get(size)
        if checkpoint is None:
            raise NotFoundError("no checkpoint of size {size}", size=size)
        public = registry.get(witness)
        if public is None:
            raise ForbiddenError(
                "{witness!r} is not a registered witness of this ledger", witness=witness
            )
        if not verify_signature(
            public, signature, cosignature_message(witness, checkpoint.statement)
        ):
            raise ForbiddenError(
                "the signature does not verify with {witness!r}'s registered key", witness=witness
            )
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        with self.store.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.cosignatures (tree_size, witness, key_id, signature)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (tree_size, witness) DO NOTHING",
                (size, witness, key_id(raw), signature),
            )
        return self.get(size)  # type: ignore[return-value]


def lock_checkpoints(conn: psycopg.Connection[Any]) -> None:
    """Hold, until the transaction ends, the lock under which checkpoints are signed."""
    conn.execute(f"SELECT pg_advisory_xact_lock({_CHECKPOINT_LOCK})")


def _successor(conn: psycopg.Connection[Any], kid: str) -> str | None:
    """The key that key `kid` was handed over to, if it was."""
    row = conn.execute(
        f"SELECT new_key_id FROM {SCHEMA}.key_handovers WHERE old_key_id = %s LIMIT 1", (kid,)
    ).fetchone()
    return str(row[0]) if row else None


def _latest_row(conn: psycopg.Connection[Any]) -> Any:
    return conn.execute(
        f"SELECT tree_size, root_hash FROM {SCHEMA}.checkpoints ORDER BY tree_size DESC LIMIT 1"
    ).fetchone()


def _sizes(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """The tree's leaves and the last entry, in one statement (so one snapshot: an append
    committing between two reads would make them differ)."""
    row = conn.execute(
        f"SELECT (SELECT idx + 1 FROM {SCHEMA}.tree_nodes WHERE level = 0 ORDER BY idx DESC"
        f" LIMIT 1), (SELECT ledger_seq FROM {SCHEMA}.entries ORDER BY ledger_seq DESC LIMIT 1)"
    ).fetchone()
    return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)


def _root(conn: psycopg.Connection[Any], size: int) -> bytes:
    return range_hash(0, size, read_nodes(conn, perfect_nodes(0, size)))
