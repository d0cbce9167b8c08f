"""RFC 9162 §2.1 Merkle tree arithmetic over ledger entries, with no I/O.

Leaf i is the entry with ledger_seq i + 1; stored perfect subtrees are nodes (level, index)
covering leaves [index·2^level, (index+1)·2^level).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "EMPTY_ROOT",
    "Node",
    "TreeBuilder",
    "consistency_ranges",
    "frontier_keys",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "perfect_nodes",
    "range_hash",
    "verify_consistency",
    "verify_inclusion",
]

Node = tuple[int, int]
"""A perfect subtree: (level, index)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than `n` (n > 1): RFC 9162's `k`."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_perfect(a: int, b: int) -> bool:
    width = b - a
    return width > 0 and width & (width - 1) == 0 and a % width == 0


def perfect_nodes(a: int, b: int) -> list[Node]:
    """The stored nodes whose hashes make up MTH(D[a:b]) for a range of RFC 9162's recursion."""
    if _is_perfect(a, b):
        width = b - a
        return [(width.bit_length() - 1, a // width)]
    k = _split(b - a)
    return perfect_nodes(a, a + k) + perfect_nodes(a + k, b)


def range_hash(a: int, b: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[a:b]) from the stored perfect-subtree nodes."""
    if a == b:
        return EMPTY_ROOT
    if _is_perfect(a, b):
        width = b - a
        return nodes[(width.bit_length() - 1, a // width)]
    k = _split(b - a)
    return node_hash(range_hash(a, a + k, nodes), range_hash(a + k, b, nodes))


def inclusion_ranges(m: int, a: int, b: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PATH(m, D[a:b]) (RFC 9162 §2.1.3.1), leaf to root."""
    if b - a <= 1:
        return []
    k = _split(b - a)
    if m < a + k:
        return [*inclusion_ranges(m, a, a + k), (a + k, b)]
    return [*inclusion_ranges(m, a + k, b), (a, a + k)]


def consistency_ranges(m: int, n: int) -> list[tuple[int, int]]:
    """The ranges whose hashes form PROOF(m, D[n]) (RFC 9162 §2.1.4.1), for 0 < m < n."""

    def subproof(m: int, a: int, b: int, complete: bool) -> list[tuple[int, int]]:
        if m == b:
            return [] if complete else [(a, b)]
        k = _split(b - a)
        if m <= a + k:
            return [*subproof(m, a, a + k, complete), (a + k, b)]
        return [*subproof(m, a + k, b, False), (a, a + k)]

    if not 0 < m < n:
        return []
    return subproof(m, 0, n, True)


def frontier_keys(size: int) -> list[Node]:
    """The perfect subtrees that make up a tree of `size` leaves, left to right."""
    keys = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, (size >> level) - 1))
    return keys


def needed_nodes(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    return {node for a, b in ranges for node in perfect_nodes(a, b)}


class TreeBuilder:
    """The right edge of a growing tree (a compact range): append leaves, read the root.

    `append` returns the perfect-subtree nodes each leaf completes, for storage.
    """

    __slots__ = ("size", "stack")

    def __init__(self, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        levels = [level for level, _ in frontier_keys(size)]
        if len(levels) != len(frontier):
            raise ValueError(f"a tree of {size} leaves has {len(levels)} frontier nodes")
        self.size = size
        self.stack: list[tuple[int, bytes]] = list(zip(levels, frontier, strict=True))

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        index = self.size
        self.size += 1
        level, digest = 0, leaf
        made = [(0, index, leaf)]
        stack = self.stack
        while stack and stack[-1][0] == level:
            digest = node_hash(stack.pop()[1], digest)
            level += 1
            index >>= 1
            made.append((level, index, digest))
        stack.append((level, digest))
        return made

    def add(self, leaf: bytes) -> None:
        """`append` without the list of completed nodes (for verifying, which stores nothing)."""
        self.size += 1
        stack, level, digest = self.stack, 0, leaf
        while stack and stack[-1][0] == level:
            digest = _sha256(b"\x01" + stack.pop()[1] + digest).digest()
            level += 1
        stack.append((level, digest))

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        digest = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            digest = node_hash(left, digest)
        return digest


def mth(leaves: Sequence[bytes]) -> bytes:
    """The root of a list of leaf hashes (for small trees held in memory)."""
    builder = TreeBuilder()
    for leaf in leaves:
        builder.append(leaf)
    return builder.root()


def leaves_range_hash(leaves: Sequence[bytes]) -> Callable[[int, int], bytes]:
    """MTH(D[a:b]) over leaf hashes in memory."""

    def hash_of(a: int, b: int) -> bytes:
        if b - a == 1:
            return leaves[a]
        if a == b:
            return EMPTY_ROOT
        k = _split(b - a)
        return node_hash(hash_of(a, a + k), hash_of(a + k, b))

    return hash_of


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `path` prove leaf `index` in the tree of `size` with `root`?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: does `proof` show the tree of `second` leaves with `second_root`
    extends the tree of `first` leaves with `first_root`?"""
    if first == second:
        return not proof and first_root == second_root
    if not 0 < first < second or not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree's root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


__all__ += ["leaves_range_hash", "mth", "needed_nodes"]
