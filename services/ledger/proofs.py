"""Inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4) from the stored tree nodes."""

from __future__ import annotations

from collections.abc import Sequence

from services.ledger.store import LedgerStore
from services.ledger.tree import consistency_ranges, inclusion_ranges, needed_nodes, range_hash
from shared.kit.errors import NotFoundError

__all__ = ["consistency_proof", "inclusion_proof", "inclusion_proofs"]


def inclusion_proofs(
    store: LedgerStore, ledger_seqs: Sequence[int], size: int
) -> list[list[bytes]]:
    """The audit paths of several entries in the tree of `size` entries, with one read."""
    paths = [inclusion_ranges(seq - 1, 0, size) for seq in ledger_seqs]
    nodes = store.nodes(needed_nodes(r for path in paths for r in path))
    return [[range_hash(a, b, nodes) for a, b in path] for path in paths]


def _check_size(store: LedgerStore, size: int) -> None:
    current = store.tree_size()
    if size > current:
        raise NotFoundError(
            "the tree has {current} entries, not {size}", current=current, size=size
        )


def inclusion_proof(store: LedgerStore, ledger_seq: int, size: int) -> list[bytes]:
    """PATH(ledger_seq - 1, D[size])."""
    if not 1 <= ledger_seq <= size:
        raise NotFoundError(
            "entry {ledger_seq} is not in a tree of {size} entries",
            ledger_seq=ledger_seq,
            size=size,
        )
    _check_size(store, size)
    return inclusion_proofs(store, [ledger_seq], size)[0]


def consistency_proof(store: LedgerStore, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]): the tree of `second` entries extends the tree of `first`."""
    if not 0 < first <= second:
        raise NotFoundError(
            "no consistency proof from {first} to {second}", first=first, second=second
        )
    _check_size(store, second)
    ranges = consistency_ranges(first, second)
    nodes = store.nodes(needed_nodes(ranges))
    return [range_hash(a, b, nodes) for a, b in ranges]
