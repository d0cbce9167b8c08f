"""The ledger's Merkle arithmetic agrees with an independent reading of RFC 9162 at every size."""

from __future__ import annotations

import pytest

from services.ledger.tree import (
    TreeBuilder,
    consistency_ranges,
    inclusion_ranges,
    leaf_hash,
    range_hash,
    verify_consistency,
)
from tests.ledger import rfc9162

DATA = [f"entry {i}".encode() for i in range(40)]


def _stored(leaves: list[bytes]) -> tuple[dict[tuple[int, int], bytes], TreeBuilder]:
    builder, nodes = TreeBuilder(), {}
    for data in leaves:
        for level, index, digest in builder.append(leaf_hash(data)):
            nodes[(level, index)] = digest
    return nodes, builder


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 40])
def test_the_root_at_every_size_is_the_rfc_tree_hash(size):
    nodes, builder = _stored(DATA[:size])

    assert builder.root() == rfc9162.mth(DATA[:size])
    assert range_hash(0, size, nodes) == rfc9162.mth(DATA[:size])


def test_audit_paths_from_stored_nodes_are_the_rfc_paths():
    nodes, _ = _stored(DATA)

    for size in range(1, 41):
        for m in range(size):
            ours = [range_hash(a, b, nodes) for a, b in inclusion_ranges(m, 0, size)]
            assert ours == rfc9162.path(m, DATA[:size]), (m, size)


def test_consistency_proofs_from_stored_nodes_are_the_rfc_proofs():
    nodes, _ = _stored(DATA)

    for second in range(2, 41):
        for first in range(1, second):
            ours = [range_hash(a, b, nodes) for a, b in consistency_ranges(first, second)]
            assert ours == rfc9162.proof(first, DATA[:second]), (first, second)
            assert rfc9162.verify_consistency(
                first, second, rfc9162.mth(DATA[:first]), rfc9162.mth(DATA[:second]), ours
            )


def test_the_ledgers_consistency_check_agrees_with_the_rfc_and_refuses_another_tree():
    nodes, _ = _stored(DATA)
    other = [*DATA[:5], b"made up", *DATA[6:]]

    for second in range(1, 41):
        for first in range(1, second + 1):
            proof = [range_hash(a, b, nodes) for a, b in consistency_ranges(first, second)]
            roots = rfc9162.mth(DATA[:first]), rfc9162.mth(DATA[:second])
            assert verify_consistency(first, second, *roots, [] if first == second else proof)
            if first > 5:
                forged = rfc9162.mth(other[:first])
                assert not verify_consistency(first, second, forged, roots[1], proof)


def test_a_builder_resumed_from_its_frontier_grows_the_same_tree():
    _, whole = _stored(DATA)
    _, first = _stored(DATA[:13])
    resumed = TreeBuilder(13, [digest for _, digest in first.stack])

    for data in DATA[13:]:
        resumed.append(leaf_hash(data))

    assert resumed.root() == whole.root()
