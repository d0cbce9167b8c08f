"""Verification of one case or the whole ledger from the stored bytes, against signed checkpoints.

A failure names the first bad entry; where only a root disagrees, the leaf hashes stored at
append time locate it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from hashlib import sha256 as _sha256
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.ledger.checkpoints import CaseHeads, Checkpoint, Checkpointer
from services.ledger.proofs import inclusion_proofs
from services.ledger.signing import Statement, cosignature_message, verify_signature
from services.ledger.store import GENESIS, LedgerCorruptedError, LedgerStore, rfc3339
from services.ledger.tree import TreeBuilder, leaf_hash, verify_inclusion

__all__ = [
    "LedgerReport",
    "Verification",
    "check_checkpoint",
    "check_entry",
    "verify_case",
    "verify_ledger",
]


@dataclass(frozen=True)
class Verification:
    """The result of verifying one case; `first_bad_seq` is a position in the case."""

    ok: bool
    events: int
    head_hash: str | None
    first_bad_seq: int | None
    reason: str | None = None
    first_bad_ledger_seq: int | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "events": self.events,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.first_bad_ledger_seq is not None:
            out["first_bad_ledger_seq"] = self.first_bad_ledger_seq
        return out


@lru_cache(maxsize=65_536)
def _json_string(value: str) -> bytes:
    return rfc8785.dumps(value)


@lru_cache(maxsize=4096)
def _stamp(instant: datetime) -> bytes:
    return rfc3339(instant).encode()


def check_entry(row: Sequence[Any], case_seq: int, prev: bytes) -> str | None:
    """Why a stored row (`ENTRY_COLUMNS`) is not the `case_seq`-th link after `prev`, if it is not.

    The columns are compared with the hashed bytes by the exact RFC 8785 text they must make
    before and after the envelope (keys sort as appended_at, case_id, case_seq, event,
    ledger_seq, type), which is much faster than parsing every entry.
    """
    ledger_seq, case_id, stored_seq, type_, appended_at, canonical, prev_hash, digest = row
    canonical = bytes(canonical)
    if stored_seq != case_seq:
        return f"entry {case_seq} of the case is missing or out of place"
    if bytes(prev_hash) != prev:
        return "prev_hash does not match the previous entry's hash"
    if _sha256(prev + canonical).digest() != bytes(digest):
        return "the entry's bytes do not match its hash"
    head = b'{"appended_at":"%s","case_id":%s,"case_seq":%d,"event":{' % (
        _stamp(appended_at), _json_string(case_id), case_seq,
    )  # fmt: skip
    tail = b'},"ledger_seq":%d,"type":%s}' % (ledger_seq, _json_string(type_))
    if not (canonical.startswith(head) and canonical.endswith(tail)):
        return "the stored columns differ from the hashed entry"
    return None


def check_checkpoint(checkpoint: Checkpoint, public: Ed25519PublicKey) -> str | None:
    """Why a stored checkpoint is not a valid signed statement of its columns, if it is not."""
    try:
        statement = Statement.decode(checkpoint.statement)
    except (ValueError, KeyError, UnicodeDecodeError):
        return f"checkpoint {checkpoint.tree_size}: its statement is malformed"
    if not verify_signature(public, checkpoint.signature, checkpoint.statement):
        return f"checkpoint {checkpoint.tree_size}: its signature does not verify with the key"
    if (statement.tree_size, statement.root_hash, statement.heads_root) != (
        checkpoint.tree_size, checkpoint.root_hash, checkpoint.heads_root,
    ):  # fmt: skip
        return f"checkpoint {checkpoint.tree_size}: its columns differ from the signed statement"
    return None


def verify_case(
    store: LedgerStore, checkpointer: Checkpointer, public: Ed25519PublicKey, case_id: str
) -> Verification:
    """The case's chain, its entries' inclusion in the latest checkpoint, and its signed head."""
    # The checkpoint first: rows read after it hold every entry it covers.
    checkpoint = checkpointer.latest()
    rows = store.case_rows(case_id)
    checkpoint = checkpoint if rows else None
    paths: dict[int, list[bytes]] = {}
    if checkpoint is not None:
        bad = check_checkpoint(checkpoint, public)
        if bad:
            return Verification(False, len(rows), None, None, bad)
        covered = [r[0] for r in rows if r[0] <= checkpoint.tree_size]
        try:
            paths = dict(
                zip(covered, inclusion_proofs(store, covered, checkpoint.tree_size), strict=True)
            )
        except LedgerCorruptedError as exc:
            return Verification(False, len(rows), None, None, str(exc))
    prev = GENESIS
    for n, row in enumerate(rows, 1):
        reason = check_entry(row, n, prev)
        if reason is None and checkpoint is not None and row[0] in paths:
            leaf = leaf_hash(bytes(row[5]))
            if not verify_inclusion(
                row[0] - 1, checkpoint.tree_size, leaf, paths[row[0]], checkpoint.root_hash
            ):
                reason = "the entry is not the one in the signed tree"
        if reason:
            return Verification(False, len(rows), prev.hex() if n > 1 else None, n, reason, row[0])
        prev = bytes(row[7])
    head = prev.hex() if rows else None
    if checkpoint is None:
        return Verification(True, len(rows), head, None)
    covered_rows = [r for r in rows if r[0] in paths]
    return _check_head(checkpointer, checkpoint, case_id, covered_rows, len(rows), head)


def _check_head(
    checkpointer: Checkpointer,
    checkpoint: Checkpoint,
    case_id: str,
    covered: Sequence[Sequence[Any]],
    events: int,
    head: str | None,
) -> Verification:
    heads = checkpointer.heads_at(checkpoint.tree_size)
    if heads.root() != (checkpoint.heads_size, checkpoint.heads_root):
        return Verification(
            False, events, head, len(covered) + 1,
            "the case heads differ from those signed in the checkpoint: entries were removed or"
            " altered",
        )  # fmt: skip
    signed = heads.heads.get(case_id)
    # A case begun after the checkpoint has no signed head yet, and nothing under it to cut off.
    last = (covered[-1][2], covered[-1][0]) if covered else None
    if ((signed[0], signed[1]) if signed else None) != last:
        return Verification(
            False, events, head, len(covered) + 1, "the case's last entries are missing"
        )
    return Verification(True, events, head, None)


@dataclass
class LedgerReport:
    """The result of verifying the whole ledger."""

    ok: bool = True
    events: int = 0
    cases: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    first_bad_seq: int | None = None
    reason: str | None = None
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def fail(self, message: str, seq: int | None = None) -> None:
        self.ok = False
        self.problems.append(message)
        if seq is not None and (self.first_bad_seq is None or seq < self.first_bad_seq):
            self.first_bad_seq = seq
            self.reason = message
        elif self.reason is None:
            self.reason = message


def _check_signatures(
    report: LedgerReport,
    checkpoints: Sequence[Checkpoint],
    public: Ed25519PublicKey,
    witnesses: Mapping[str, Ed25519PublicKey],
) -> dict[int, bytes]:
    """The roots of the checkpoints whose signatures hold; failures go into the report."""
    roots: dict[int, bytes] = {}
    for checkpoint in checkpoints:
        bad = check_checkpoint(checkpoint, public)
        if bad:
            report.fail(bad)
            continue
        roots[checkpoint.tree_size] = checkpoint.root_hash
        for cosig in checkpoint.cosignatures:
            key = witnesses.get(cosig.witness)
            if key is None:
                continue
            message = cosignature_message(cosig.witness, checkpoint.statement)
            if verify_signature(key, cosig.signature, message):
                report.cosignatures += 1
            else:
                report.fail(
                    f"checkpoint {checkpoint.tree_size}: {cosig.witness}'s cosignature fails"
                )
    return roots


def verify_ledger(
    store: LedgerStore,
    checkpoints: Sequence[Checkpoint],
    public: Ed25519PublicKey,
    *,
    witnesses: Mapping[str, Ed25519PublicKey] | None = None,
    witness_roots: Mapping[int, tuple[str, bytes]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> LedgerReport:
    """Every entry, chain, checkpoint and cosignature; stops at the first bad entry."""
    started = time.perf_counter()
    report = LedgerReport(checkpoints=len(checkpoints))
    roots = {s: ("the signed checkpoint", r) for s, r in
             _check_signatures(report, checkpoints, public, witnesses or {}).items()}  # fmt: skip
    valid = {c.tree_size: c for c in checkpoints if c.tree_size in roots}
    for size, (holder, root) in (witness_roots or {}).items():
        if size in roots and roots[size][1] != root:
            report.fail(f"checkpoint {size}: its root differs from {holder}'s copy")
        # What a witness holds is trusted over what the ledger's database holds now.
        roots[size] = (holder, root)
    stream = _Stream(store, roots, report)
    if valid:
        stream.heads_checkpoint = valid[max(valid)]
    stream.run(progress)
    last_signed = max((c.tree_size for c in checkpoints), default=0)
    if report.ok and report.events < last_signed:
        report.fail(
            f"entries {report.events + 1} to {last_signed} are missing: the tail was cut",
            report.events + 1,
        )
    report.cases = len(stream.heads)
    report.seconds = time.perf_counter() - started
    return report


class _Stream:
    """One pass over all entries in ledger order."""

    def __init__(
        self, store: LedgerStore, roots: Mapping[int, tuple[str, bytes]], report: LedgerReport
    ):
        self.store = store
        self.roots = roots
        self.report = report
        self.heads: dict[str, tuple[int, bytes, int]] = {}
        self.pending: list[bytes] = []
        self.good_size = 0
        self.heads_checkpoint: Checkpoint | None = None

    def run(self, progress: Callable[[int], None] | None) -> None:
        builder, heads, pending, roots = TreeBuilder(), self.heads, self.pending, self.roots
        sha256, stamp, quote, fresh = _sha256, _stamp, _json_string, (0, GENESIS, 0)
        checks = set(roots) | (
            {self.heads_checkpoint.tree_size} if self.heads_checkpoint else set()
        )
        expected = 1
        with self.store.stream() as rows:
            for row in rows:
                (
                    ledger_seq,
                    case_id,
                    stored_seq,
                    type_,
                    appended_at,
                    canonical,
                    prev_hash,
                    digest,
                ) = row
                case_seq, prev, _ = heads.get(case_id, fresh)
                case_seq += 1
                # Inline, the same checks as `check_entry` (which then says what failed).
                if (
                    ledger_seq != expected
                    or stored_seq != case_seq
                    or prev_hash != prev
                    or sha256(prev + canonical).digest() != digest
                    or not canonical.startswith(
                        b'{"appended_at":"%s","case_id":%s,"case_seq":%d,"event":{'
                        % (stamp(appended_at), quote(case_id), case_seq)
                    )
                    or not canonical.endswith(
                        b'},"ledger_seq":%d,"type":%s}' % (ledger_seq, quote(type_))
                    )
                ):
                    if ledger_seq != expected:
                        self._fail(expected, f"entry {expected} is missing")
                    else:
                        why = check_entry(row, case_seq, prev)
                        self._fail(expected, f"entry {expected}: {why}")
                    return
                heads[case_id] = (case_seq, digest, expected)
                leaf = sha256(b"\x00" + canonical).digest()
                builder.add(leaf)
                pending.append(leaf)
                if expected in checks and not self._at_checkpoint(expected, builder):
                    return
                if progress is not None and expected % 10_000 == 0:
                    progress(expected)
                expected += 1
        self.report.events = expected - 1

    def _at_checkpoint(self, size: int, builder: TreeBuilder) -> bool:
        """Check the root (and case heads) signed or held at `size`; False when they differ."""
        if size in self.roots:
            holder, root = self.roots[size]
            if builder.root() != root:
                self.report.events = size
                changed = self._first_changed_leaf()
                self.report.fail(
                    f"the tree at size {size} differs from {holder}: entries after"
                    f" {self.good_size} were changed"
                    + (f"; entry {changed} differs from its leaf when appended" if changed else ""),
                    changed or self.good_size + 1,
                )
                return False
            self.good_size = size
            self.pending.clear()
        if self.heads_checkpoint and size == self.heads_checkpoint.tree_size:
            self._check_heads(self.heads_checkpoint)
        return True

    def _check_heads(self, checkpoint: Checkpoint) -> None:
        """The case heads signed in the latest checkpoint are those of the entries."""
        heads = CaseHeads()
        heads.heads = {c: (seq, at, digest) for c, (seq, digest, at) in self.heads.items()}
        if heads.root() != (checkpoint.heads_size, checkpoint.heads_root):
            self.report.fail(
                f"checkpoint {checkpoint.tree_size}: its case heads differ from the entries'"
            )

    def _fail(self, seq: int, message: str) -> None:
        """Fail at `seq`, or earlier where a stored leaf hash shows an earlier change."""
        self.report.events = seq - 1
        earlier = self._first_changed_leaf()
        if earlier is not None and earlier < seq:
            message = (
                f"entry {earlier}: its bytes differ from its leaf in the tree when appended"
                f" ({message})"
            )
            seq = earlier
        self.report.fail(message, seq)

    def _first_changed_leaf(self) -> int | None:
        """The first entry since the last good checkpoint whose leaf differs from the stored one."""
        start = self.good_size
        keys = [(0, start + i) for i in range(len(self.pending))]
        try:
            stored = self.store.nodes(keys)
        except LedgerCorruptedError:
            return None
        for i, leaf in enumerate(self.pending):
            if stored[(0, start + i)] != leaf:
                return start + i + 1
        return None
