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
from services.ledger.signing import (
    Consistent,
    LedgerKeys,
    Statement,
    cosignature_message,
    verify_signature,
)
from services.ledger.store import GENESIS, LedgerCorruptedError, LedgerStore, rfc3339
from services.ledger.tree import (
    TreeBuilder,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    mth,
    needed_nodes,
    range_hash,
    verify_consistency,
    verify_inclusion,
)
from shared.kit.i18n import translate

__all__ = [
    "LedgerReport",
    "Verification",
    "case_paths",
    "check_checkpoint",
    "check_entry",
    "consistent_in",
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
        return translate("entry {seq} of the case is missing or out of place", seq=case_seq)
    if bytes(prev_hash) != prev:
        return translate("prev_hash does not match the previous entry's hash")
    if _sha256(prev + canonical).digest() != bytes(digest):
        return translate("the entry's bytes do not match its hash")
    head = b'{"appended_at":"%s","case_id":%s,"case_seq":%d,"event":{' % (
        _stamp(appended_at), _json_string(case_id), case_seq,
    )  # fmt: skip
    tail = b'},"ledger_seq":%d,"type":%s}' % (ledger_seq, _json_string(type_))
    if not (canonical.startswith(head) and canonical.endswith(tail)):
        return translate("the stored columns differ from the hashed entry")
    return None


def check_checkpoint(
    checkpoint: Checkpoint, keys: LedgerKeys, consistent: Consistent | None = None
) -> str | None:
    """Why a stored checkpoint is not a valid signed statement of its columns, if it is not.

    It must be signed by the ledger's current key or a retired one (`CASELINE_LEDGER_RETIRED_KEYS`),
    and a retired key only up to the last tree size its handover (or the configuration) names;
    where its handover names the root at that size too (v2), at that size only with that root,
    and before it only with a root `consistent` shows to be of the same tree.
    """
    try:
        statement = Statement.decode(checkpoint.statement)
    except (ValueError, KeyError, UnicodeDecodeError):
        return translate("checkpoint {size}: its statement is malformed", size=checkpoint.tree_size)
    public = keys.public_for(statement.key_id)
    if public is None:
        return translate(
            "checkpoint {size}: signed by key {kid}, which is neither the ledger's current key nor"
            " a retired one",
            size=checkpoint.tree_size,
            kid=statement.key_id,
        )
    if not verify_signature(public, checkpoint.signature, checkpoint.statement):
        return translate(
            "checkpoint {size}: its signature does not verify with the key {kid}",
            size=checkpoint.tree_size,
            kid=statement.key_id,
        )
    if (statement.tree_size, statement.root_hash, statement.heads_root, statement.key_id) != (
        checkpoint.tree_size, checkpoint.root_hash, checkpoint.heads_root, checkpoint.key_id,
    ):  # fmt: skip
        return translate(
            "checkpoint {size}: its columns differ from the signed statement",
            size=checkpoint.tree_size,
        )
    past = keys.past_end(statement.key_id, statement.tree_size, statement.root_hash, consistent)
    if past:
        return translate("checkpoint {size}: {reason}", size=checkpoint.tree_size, reason=past)
    return None


def consistent_in(store: LedgerStore) -> Consistent:
    """Whether the ledger's stored tree shows the tree of `first` entries with `first_root` to be
    a prefix of the tree of `second` entries with `second_root`: the RFC 9162 consistency proof
    between them, made from the stored nodes and checked against both roots (so nodes changed
    behind the ledger's back prove nothing)."""

    def consistent(first: int, first_root: bytes, second: int, second_root: bytes) -> bool:
        if first == second:
            return first_root == second_root
        if not 0 < first < second or store.tree_size() < second:
            return False
        ranges = consistency_ranges(first, second)
        try:
            nodes = store.nodes(needed_nodes(ranges))
        except LedgerCorruptedError:
            return False
        proof = [range_hash(a, b, nodes) for a, b in ranges]
        return verify_consistency(first, second, first_root, second_root, proof)

    return consistent


def case_paths(
    store: LedgerStore, ledger_seqs: Sequence[int], size: int
) -> list[list[bytes] | None]:
    """Each entry's audit path in the tree of `size` entries; None where a node of it is neither
    stored nor can be rebuilt from the entries under it (cut off with them): it cannot be proven.

    The stored nodes only spare recomputing: the entries and the signed root are what count.
    """
    ranges = [inclusion_ranges(seq - 1, 0, size) for seq in ledger_seqs]
    wanted = needed_nodes(r for path in ranges for r in path)
    nodes = store.nodes(wanted, strict=False)
    for level, idx in wanted - nodes.keys():
        leaves = store.leaves(idx << level, (idx + 1) << level)
        if len(leaves) == 1 << level:
            nodes[(level, idx)] = mth(leaves)
    paths: list[list[bytes] | None] = []
    for path in ranges:
        try:
            paths.append([range_hash(a, b, nodes) for a, b in path])
        except KeyError:
            paths.append(None)
    return paths


def verify_case(
    store: LedgerStore, checkpointer: Checkpointer, keys: LedgerKeys, case_id: str
) -> Verification:
    """The case's chain, its entries' inclusion in the latest checkpoint (the leaves stored when
    they were appended, for those it does not cover yet), and its signed head.

    A failure names the first position found bad: a broken link or an entry not in the tree,
    else the position after the case's last entry when entries were cut off its end, else an
    entry whose inclusion the stored tree can no longer prove.
    """
    # The checkpoint first: rows read after it hold every entry it covers.
    checkpoint = checkpointer.latest()
    rows = store.case_rows(case_id)
    if checkpoint is not None and rows:
        bad = check_checkpoint(checkpoint, keys, consistent_in(store))
        if bad:
            return Verification(False, len(rows), None, None, bad)
    size = checkpoint.tree_size if checkpoint is not None else 0
    covered = [r for r in rows if r[0] <= size]
    failed, unproven = _check_links(rows, _CaseTree.read(store, checkpoint, rows))
    if failed:
        return failed
    events, head = len(rows), _head(rows)
    if checkpoint is None or not rows:
        return Verification(True, events, head, None)
    return (
        _check_tail(store, checkpoint, len(covered), events, head)
        or _check_head(checkpointer, checkpoint, case_id, covered, events, head)
        or _unproven(unproven, events, head)
        or Verification(True, events, head, None)
    )


def _head(rows: Sequence[Sequence[Any]]) -> str | None:
    return bytes(rows[-1][7]).hex() if rows else None


_UNPROVEN = "unproven"


@dataclass(frozen=True)
class _CaseTree:
    """What the tree holds of a case's entries: audit paths to the checkpoint's root for those
    it covers, the leaves stored at append time for the others."""

    checkpoint: Checkpoint | None
    paths: Mapping[int, list[bytes] | None]
    leaves: Mapping[tuple[int, int], bytes]

    @classmethod
    def read(
        cls, store: LedgerStore, checkpoint: Checkpoint | None, rows: Sequence[Sequence[Any]]
    ) -> _CaseTree:
        size = checkpoint.tree_size if checkpoint is not None else 0
        covered = [r[0] for r in rows if r[0] <= size]
        later = [(0, r[0] - 1) for r in rows if r[0] > size]
        paths = dict(zip(covered, case_paths(store, covered, size), strict=True))
        return cls(checkpoint, paths, store.nodes(later, strict=False) if later else {})

    def reason(self, row: Sequence[Any]) -> str | None:
        """Why the tree disowns the entry; `_UNPROVEN` when it can no longer say."""
        seq, leaf = row[0], leaf_hash(bytes(row[5]))
        if self.checkpoint is not None and seq in self.paths:
            path = self.paths[seq]
            if path is None:
                return _UNPROVEN
            if not verify_inclusion(
                seq - 1, self.checkpoint.tree_size, leaf, path, self.checkpoint.root_hash
            ):
                return translate("the entry is not the one in the signed tree")
            return None
        stored = self.leaves.get((0, seq - 1))
        if stored is None:
            return translate(
                "the entry has no leaf in the tree: it was put in behind the ledger's back"
            )
        if stored != leaf:
            return translate(
                "the entry differs from its leaf stored when it was appended (not yet signed)"
            )
        return None


def _check_links(
    rows: Sequence[Sequence[Any]], tree: _CaseTree
) -> tuple[Verification | None, tuple[int, int] | None]:
    """The first broken link or entry the tree disowns, and the first entry the stored tree
    cannot prove (its position in the case and in the ledger)."""
    prev, unproven = GENESIS, None
    for n, row in enumerate(rows, 1):
        reason = check_entry(row, n, prev) or tree.reason(row)
        if reason == _UNPROVEN:
            unproven, reason = unproven or (n, row[0]), None
        if reason:
            head = prev.hex() if n > 1 else None
            return Verification(False, len(rows), head, n, reason, row[0]), None
        prev = bytes(row[7])
    return None, unproven


def _check_tail(
    store: LedgerStore, checkpoint: Checkpoint, covered: int, events: int, head: str | None
) -> Verification | None:
    """The ledger still holds every entry the checkpoint signed (appends only add to it)."""
    end = store.last_seq()
    if end >= checkpoint.tree_size:
        return None
    return Verification(
        False, events, head, covered + 1,
        translate(
            "the ledger ends at entry {end} but the checkpoint signed {size}: its tail was cut,"
            " and with it perhaps this case's later entries",
            end=end,
            size=checkpoint.tree_size,
        ),
    )  # fmt: skip


def _check_head(
    checkpointer: Checkpointer,
    checkpoint: Checkpoint,
    case_id: str,
    covered: Sequence[Sequence[Any]],
    events: int,
    head: str | None,
) -> Verification | None:
    heads = checkpointer.heads_at(checkpoint.tree_size)
    if heads.root() != (checkpoint.heads_size, checkpoint.heads_root):
        return Verification(
            False, events, head, len(covered) + 1,
            translate(
                "the case heads differ from those signed in the checkpoint: entries were removed"
                " or altered"
            ),
        )  # fmt: skip
    signed = heads.heads.get(case_id)
    # A case begun after the checkpoint has no signed head yet, and nothing under it to cut off.
    last = (covered[-1][2], covered[-1][0]) if covered else None
    if ((signed[0], signed[1]) if signed else None) != last:
        return Verification(
            False, events, head, len(covered) + 1, translate("the case's last entries are missing")
        )
    return None


def _unproven(where: tuple[int, int] | None, events: int, head: str | None) -> Verification | None:
    if where is None:
        return None
    return Verification(
        False, events, head, where[0],
        "the entry cannot be proven in the signed tree: the stored tree lacks nodes of its path",
        where[1],
    )  # fmt: skip


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
    keys: LedgerKeys,
    witnesses: Mapping[str, Ed25519PublicKey],
    consistent: Consistent,
) -> dict[int, bytes]:
    """The roots of the checkpoints whose signatures hold; failures go into the report."""
    roots: dict[int, bytes] = {}
    for checkpoint in checkpoints:
        bad = check_checkpoint(checkpoint, keys, consistent)
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
                    translate(
                        "checkpoint {size}: {witness}'s cosignature fails",
                        size=checkpoint.tree_size,
                        witness=cosig.witness,
                    )
                )
    return roots


def verify_ledger(
    store: LedgerStore,
    checkpoints: Sequence[Checkpoint],
    keys: LedgerKeys,
    *,
    witnesses: Mapping[str, Ed25519PublicKey] | None = None,
    witness_roots: Mapping[int, tuple[str, bytes]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> LedgerReport:
    """Every entry, chain, checkpoint and cosignature; stops at the first bad entry."""
    started = time.perf_counter()
    report = LedgerReport(checkpoints=len(checkpoints))
    signed = translate("the signed checkpoint")
    checked = _check_signatures(report, checkpoints, keys, witnesses or {}, consistent_in(store))
    roots = {s: (signed, r) for s, r in checked.items()}
    valid = {c.tree_size: c for c in checkpoints if c.tree_size in roots}
    for size, (holder, root) in (witness_roots or {}).items():
        if size in roots and roots[size][1] != root:
            report.fail(
                translate(
                    "checkpoint {size}: its root differs from {holder}",
                    size=size,
                    holder=holder,
                )
            )
        # What a witness holds is trusted over what the ledger's database holds now.
        roots[size] = (holder, root)
    stream = _Stream(store, roots, report)
    if valid:
        stream.heads_checkpoint = valid[max(valid)]
    if stream.run(progress) and stream.unsigned_tail_holds():
        _check_tail_kept(report, checkpoints, witness_roots or {})
    report.cases = len(stream.heads)
    report.seconds = time.perf_counter() - started
    return report


def _check_tail_kept(
    report: LedgerReport,
    checkpoints: Sequence[Checkpoint],
    witness_roots: Mapping[int, tuple[str, bytes]],
) -> None:
    """Every entry a checkpoint or a witness's copy covers is still there."""
    ledgers = translate("the ledger's checkpoint")
    signed = {c.tree_size: ledgers for c in checkpoints}
    # A witness's copy outlives a checkpoint deleted with the entries it covered.
    signed.update({size: holder for size, (holder, _) in witness_roots.items()})
    last = max(signed, default=0)
    if report.events < last:
        report.fail(
            translate(
                "entries {first} to {last} are missing: the tail was cut ({holder} covers {last}"
                " entries)",
                first=report.events + 1,
                last=last,
                holder=signed[last],
            ),
            report.events + 1,
        )


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

    def run(self, progress: Callable[[int], None] | None) -> bool:
        """Check every entry; False when one failed (the report says which)."""
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
                        self._fail(expected, translate("entry {seq} is missing", seq=expected))
                    else:
                        why = check_entry(row, case_seq, prev)
                        self._fail(
                            expected, translate("entry {seq}: {reason}", seq=expected, reason=why)
                        )
                    return False
                heads[case_id] = (case_seq, digest, expected)
                leaf = sha256(b"\x00" + canonical).digest()
                builder.add(leaf)
                pending.append(leaf)
                if expected in checks and not self._at_checkpoint(expected, builder):
                    return False
                if progress is not None and expected % 10_000 == 0:
                    progress(expected)
                expected += 1
        self.report.events = expected - 1
        return True

    def unsigned_tail_holds(self) -> bool:
        """The entries after the last root that held are those appended, by their stored leaves.

        No signature covers them yet; the leaves stored with them show an entry changed or put in
        by hand since."""
        start, batch = self.good_size, 10_000
        for first in range(0, len(self.pending), batch):
            leaves = self.pending[first : first + batch]
            keys = [(0, start + first + i) for i in range(len(leaves))]
            stored = self.store.nodes(keys, strict=False)
            for key, leaf in zip(keys, leaves, strict=True):
                if stored.get(key) != leaf:
                    seq = key[1] + 1
                    if key not in stored:
                        message = translate(
                            "entry {seq} (not yet signed) has no leaf in the tree: changed or put"
                            " in behind the ledger",
                            seq=seq,
                        )
                    else:
                        message = translate(
                            "entry {seq} (not yet signed) differs from its leaf: changed or put in"
                            " behind the ledger",
                            seq=seq,
                        )
                    self.report.fail(message, seq)
                    return False
        return True

    def _at_checkpoint(self, size: int, builder: TreeBuilder) -> bool:
        """Check the root (and case heads) signed or held at `size`; False when they differ."""
        if size in self.roots:
            holder, root = self.roots[size]
            if builder.root() != root:
                self.report.events = size
                changed = self._first_changed_leaf()
                message = (
                    translate(
                        "the tree at size {size} differs from {holder}: entries after {good} were"
                        " changed; entry {changed} differs from its leaf when appended",
                        size=size,
                        holder=holder,
                        good=self.good_size,
                        changed=changed,
                    )
                    if changed
                    else translate(
                        "the tree at size {size} differs from {holder}: entries after {good} were"
                        " changed",
                        size=size,
                        holder=holder,
                        good=self.good_size,
                    )
                )
                self.report.fail(message, changed or self.good_size + 1)
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
                translate(
                    "checkpoint {size}: its case heads differ from the entries'",
                    size=checkpoint.tree_size,
                )
            )

    def _fail(self, seq: int, message: str) -> None:
        """Fail at `seq`, or earlier where a stored leaf hash shows an earlier change."""
        self.report.events = seq - 1
        earlier = self._first_changed_leaf()
        if earlier is not None and earlier < seq:
            message = translate(
                "entry {seq}: its bytes differ from its leaf in the tree when appended ({reason})",
                seq=earlier,
                reason=message,
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
