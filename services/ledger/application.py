"""The ledger application: its store, checkpoints, key and witnesses, and the questions asked of it.

The routes, the CLI and the tests all go through this one object; it holds no per-request state.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.ledger.checkpoints import Checkpoint, Checkpointer
from services.ledger.export import build_bundle, bundle_bytes
from services.ledger.handovers import (
    StoredHandover,
    hand_over,
    handed_over_from,
    handovers,
    record_handover,
    trusted_keys,
)
from services.ledger.proofs import consistency_proof, inclusion_proof
from services.ledger.schema import SCHEMA
from services.ledger.signing import LedgerKey, LedgerKeys, ledger_key, retired_keys, witness_keys
from services.ledger.statistics import READ_TYPES, Fact, Period, StatsQuery, compute
from services.ledger.store import LedgerStore, read_nodes
from services.ledger.stored import StoredEntry
from services.ledger.tree import TreeBuilder, leaf_hash
from services.ledger.verification import LedgerReport, Verification, verify_case, verify_ledger
from shared.kit.clock import Clock
from shared.kit.errors import NotFoundError
from shared.kit.jurisdiction import Jurisdiction, load_jurisdiction
from shared.kit.keystore import CaseKeyCipher, PostgresKeyStore
from shared.kit.origins import origin_keys
from shared.kit.recorder import Op, run_ops
from shared.kit.scope import CaseAccess
from shared.kit.settings import Settings

__all__ = ["LedgerApplication", "TreeCheck"]


@dataclass
class TreeCheck:
    """The tree rebuilt from the entries, compared with the stored nodes (the ledger's replay)."""

    entries: int = 0
    nodes: int = 0
    stored_nodes: int = 0
    differing: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differing and self.nodes == self.stored_nodes


class LedgerApplication:
    """Everything the ledger answers; built once per process from the settings."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        *,
        create: bool = True,
        key: LedgerKey | None = None,
    ) -> None:
        self.settings = settings
        # An auditor may pass only the public key they trust: verifying needs no signing key.
        self.key: LedgerKey = key or ledger_key(settings)
        self.witnesses = witness_keys(settings)
        self.store = LedgerStore(settings, pool_size=settings.pool_size)
        if create:
            self.store.create()
        # An auditor's key stands alone: it trusts only the keys handed over from it.
        self._auditor = key is not None
        self._retired, self._retired_ends = ({}, {}) if self._auditor else retired_keys(settings)
        self.checkpointer = Checkpointer(
            self.store,
            self.key,
            clock or Clock(offset_seconds=settings.clock_offset_seconds),
            every=settings.ledger_checkpoint_every,
            seconds=settings.ledger_checkpoint_seconds,
        )
        self.store.listeners.append(self.checkpointer.wake)
        self._keys: PostgresKeyStore | None = None
        self._cipher: CaseKeyCipher | None = None
        self._rules: Jurisdiction | None = None
        self._facts: list[Fact] = []
        self._facts_seq = 0
        self._facts_lock = threading.Lock()
        self.access = CaseAccess(self.fetch)

    def fetch(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read of the ledger's own schema (`{schema}` is replaced)."""
        with self.store.connection() as conn:
            return list(conn.execute(_in_schema(statement), params).fetchall())

    def note_access(self, ops: Sequence[Op], conn: psycopg.Connection[Any]) -> None:
        """Apply the access rows of appended entries in the append's transaction (idempotent: a
        redelivery applies them again), a run of one statement at a time (`run_ops`), prepared:
        the append's transaction is rolled back whole on any error."""
        if not ops:
            return
        with conn.cursor() as curs:
            run_ops(curs, ops, _in_schema, prepare=True)

    @property
    def cipher(self) -> CaseKeyCipher:
        """Per-case keys, to show personal fields to those who may read them (made on first use)."""
        if self._cipher is None:
            self._keys = PostgresKeyStore(self.settings)
            self._cipher = CaseKeyCipher(self._keys)
        return self._cipher

    def close(self) -> None:
        self.store.close()
        if self._keys is not None:
            self._keys.close()

    def shutdown(self) -> None:
        """What the kit calls when the process stops: `close`."""
        self.close()

    def ping(self) -> None:
        self.store.ping()

    # --- entries --------------------------------------------------------------------------

    def timeline(self, case_id: str, **filters: Any) -> list[StoredEntry]:
        """The case's entries (404 when the ledger has none at all for it, whatever the filters)."""
        entries = self.store.timeline(case_id, **filters)
        if not entries:
            if not self.store.timeline(case_id, limit=1):
                raise NotFoundError("no case {case_id} in the ledger", case_id=case_id)
            # The case's first entry was appended between the two reads: read again.
            entries = self.store.timeline(case_id, **filters)
        return entries

    def feed(self, after: int, limit: int) -> list[dict[str, Any]]:
        return self.store.feed(after, limit)

    def missing(self, event_ids: Sequence[UUID]) -> list[UUID]:
        """The given event ids that are not in the ledger, in the order given (once each)."""
        asked = list(dict.fromkeys(event_ids))
        with self.store.connection() as conn:
            present = {
                row[0]
                for row in conn.execute(
                    "SELECT event_id FROM ledger.entries WHERE event_id = ANY(%s::uuid[])", (asked,)
                )
            }
        return [i for i in asked if i not in present]

    # --- statistics for monitoring and evaluation ---------------------------------------------

    @property
    def rules(self) -> Jurisdiction:
        """The jurisdiction's rules (its time zone cuts the statistics' periods)."""
        if self._rules is None:
            self._rules = load_jurisdiction(self.settings)
        return self._rules

    def local_today(self) -> date:
        return self.rules.local_date(self.checkpointer.clock.now())

    def statistics(self, period: Period, start: date, end: date) -> dict[str, Any]:
        """Counts and durations by facility and period, small ones suppressed (`statistics`);
        read from every entry of the types they need, voids included."""
        query = StatsQuery(
            period, start, end, self.checkpointer.clock.now(), self.settings.stats_min_cell
        )
        return compute(self._stats_facts(), query, self.rules)

    def _stats_facts(self) -> list[Fact]:
        """The facts of every entry the statistics read, kept in memory and read on from the
        last one: entries are appended in `ledger_seq` order and never change."""
        with self._facts_lock:
            rows = self.fetch(
                "SELECT ledger_seq, case_id, type, event_id::text, event_time,"
                " convert_from(canonical, 'UTF8')::jsonb #> '{event,data}'"
                " FROM {schema}.entries WHERE ledger_seq > %s AND type = ANY(%s)"
                " ORDER BY ledger_seq",
                (self._facts_seq, list(READ_TYPES)),
            )
            self._facts += [Fact.of(*row[1:]) for row in rows]
            if rows:
                self._facts_seq = int(rows[-1][0])
            return list(self._facts)

    # --- verification and evidence --------------------------------------------------------

    def verify_case(self, case_id: str) -> Verification:
        result = verify_case(self.store, self.checkpointer, self.trusted_keys(), case_id)
        if result.events == 0:
            raise NotFoundError("no case {case_id} in the ledger", case_id=case_id)
        return result

    def verify_all(
        self, witness_roots: dict[int, tuple[str, bytes]] | None = None, progress: Any = None
    ) -> LedgerReport:
        return verify_ledger(
            self.store,
            self.checkpointer.all(),
            self.trusted_keys(),
            witnesses=self.witnesses,
            witness_roots=witness_roots,
            progress=progress,
        )

    def export(self, case_id: str) -> bytes:
        """The case's evidence bundle, as the exact bytes of its file."""
        recorded = handovers(self.store)
        bundle = build_bundle(
            self.store,
            self.checkpointer,
            self._keys_with(recorded),
            recorded,
            case_id,
            self.witnesses,
            origin_keys(self.settings).public_body(),
        )
        return bundle_bytes(bundle)

    # --- checkpoints and proofs -----------------------------------------------------------

    def latest_checkpoint(self) -> Checkpoint:
        checkpoint = self.checkpointer.latest()
        if checkpoint is None:
            raise NotFoundError("no checkpoint has been signed yet")
        return checkpoint

    def checkpoint(self, size: int) -> Checkpoint:
        checkpoint = self.checkpointer.get(size)
        if checkpoint is None:
            raise NotFoundError("no checkpoint of size {size}", size=size)
        return checkpoint

    def inclusion(self, ledger_seq: int, size: int | None) -> dict[str, Any]:
        """The entry's audit path in the tree of `size` entries, with its leaf hash and chain
        hash: hashes of its stored bytes, so one who holds only a redacted copy can still check
        it against a signed checkpoint (docs/agencies.md)."""
        size = size if size is not None else self.latest_checkpoint().tree_size
        proof = inclusion_proof(self.store, ledger_seq, size)
        rows = self.fetch(
            "SELECT canonical, hash FROM {schema}.entries WHERE ledger_seq = %s", (ledger_seq,)
        )
        if not rows:
            raise NotFoundError("no entry {ledger_seq} in the ledger", ledger_seq=ledger_seq)
        canonical, chain = rows[0]
        return {
            "ledger_seq": ledger_seq,
            "tree_size": size,
            "leaf_hash": leaf_hash(bytes(canonical)).hex(),
            "hash": bytes(chain).hex(),
            "proof": [p.hex() for p in proof],
        }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        proof = consistency_proof(self.store, first, second)
        return {"first": first, "second": second, "proof": [p.hex() for p in proof]}

    def cosign(self, size: int, witness: str, signature_b64: str) -> Checkpoint:
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except ValueError:
            signature = b""
        return self.checkpointer.cosign(size, witness, signature, self.witnesses)

    # --- the ledger's own projection ------------------------------------------------------

    def check_tree(self, progress: Any = None) -> TreeCheck:
        """Rebuild every tree node from the stored entries and compare with the stored nodes."""
        check, builder = TreeCheck(), TreeBuilder()
        made: dict[tuple[int, int], bytes] = {}
        with self.store.stream("canonical") as rows:
            for (canonical,) in rows:
                for level, idx, digest in builder.append(leaf_hash(bytes(canonical))):
                    made[(level, idx)] = digest
                if len(made) >= 50_000:
                    self._compare_nodes(made, check)
                if progress is not None and builder.size % 10_000 == 0:
                    progress(builder.size)
        self._compare_nodes(made, check)
        check.entries = builder.size
        if progress is not None:
            progress(builder.size)
        with self.store.connection() as conn:
            # The nodes of the tree over the entries read (a prefix: the ledger may have grown
            # since, and its newer nodes are not this check's to count).
            stored = conn.execute(
                f"SELECT count(*) FROM {SCHEMA}.tree_nodes WHERE idx < (%s::bigint >> level)",
                (builder.size,),
            ).fetchone()
        check.stored_nodes = int(stored[0]) if stored else 0
        return check

    def _compare_nodes(self, made: dict[tuple[int, int], bytes], check: TreeCheck) -> None:
        with self.store.connection() as conn:
            stored = read_nodes(conn, list(made), strict=False)
        check.nodes += len(made)
        check.differing += sorted(k for k, v in made.items() if stored.get(k) != v)
        made.clear()

    # --- the checkpoint key and its rotations --------------------------------------------

    def trusted_keys(self) -> LedgerKeys:
        """The keys whose checkpoints verify, each retired one up to where it stopped signing
        (read with the handovers as they stand now)."""
        return self._keys_with(handovers(self.store))

    def _keys_with(self, recorded: list[StoredHandover]) -> LedgerKeys:
        if self._auditor:
            return handed_over_from(self.key, recorded)
        return trusted_keys(self.key, self._retired, self._retired_ends, recorded)

    def public_key(self) -> dict[str, Any]:
        """The current key, the retired keys (each with the last tree size it signed, when on
        record, and the root at that size where a handover v2 names it) and the handovers."""
        recorded = handovers(self.store)
        keys = self._keys_with(recorded)
        retired = []
        for kid in sorted(keys.retired):
            end = keys.ends.get(kid)
            body = keys.public_body(kid) or {}
            root = end.last_root if end else None
            retired.append({
                **body,
                "last_tree_size": end.last_tree_size if end else None,
                "last_root_hash": root.hex() if root is not None else None,
            })  # fmt: skip
        return {
            **self.key.public_body(),
            "retired": retired,
            "handovers": [h.body() for h in recorded],
        }

    def hand_over(self, old: Ed25519PrivateKey, new: Ed25519PrivateKey, at: str) -> StoredHandover:
        """Record the handover of the checkpoint key `old` to `new` after the latest checkpoint."""
        return hand_over(self.store, old, new, at)

    def record_handover(self, handover: StoredHandover) -> StoredHandover:
        return record_handover(self.store, handover)


def _in_schema(statement: str) -> str:
    return statement.replace("{schema}", SCHEMA)
