"""Two ledger processes appending to one database keep one tree: each remembers the tree's right
edge after its own append and uses it only while the tree is still where it left it."""

from __future__ import annotations

import threading
from typing import Any
from uuid import uuid4

import pytest

from services.ledger import store as ledger_store
from services.ledger.store import SCHEMA, LedgerStore
from services.ledger.tree import perfect_nodes, range_hash
from tests.ledger import rfc9162
from tests.support.ledger import appendable


def _tree_is_the_rfc_tree(store: LedgerStore) -> int:
    with store.connection() as conn:
        canonical = [
            bytes(r[0])
            for r in conn.execute(f"SELECT canonical FROM {SCHEMA}.entries ORDER BY ledger_seq")
        ]
        nodes = {
            (int(level), int(idx)): bytes(digest)
            for level, idx, digest in conn.execute(
                f"SELECT level, idx, hash FROM {SCHEMA}.tree_nodes"
            )
        }
    size = len(canonical)
    assert set(perfect_nodes(0, size)) <= set(nodes)
    for end in range(1, size + 1):
        assert range_hash(0, end, nodes) == rfc9162.mth(canonical[:end]), end
    return size


@pytest.fixture
def stores(settings: Any) -> Any:
    first, second = LedgerStore(settings), LedgerStore(settings)
    first.create()
    yield first, second
    first.close()
    second.close()


def test_the_edge_is_read_again_only_after_another_appender(stores, monkeypatch) -> None:
    first, second = stores
    reads: list[int] = []
    real = ledger_store.read_nodes

    def counted(conn: Any, keys: Any, **kwargs: Any) -> Any:
        reads.append(len(list(keys)))
        return real(conn, keys, **kwargs)

    monkeypatch.setattr(ledger_store, "read_nodes", counted)
    case = uuid4()
    first.append([appendable(case, 0)])
    first.append([appendable(case, 1)])
    first.append([appendable(case, 2), appendable(case, 3)])
    alone = len(reads)
    second.append([appendable(case, 4)])  # knows no edge: reads it
    first.append([appendable(case, 5)])  # the tree moved on without it: reads it again
    first.append([appendable(case, 6)])

    assert alone == 1  # the first append of an empty ledger, and never after
    assert len(reads) == 3
    assert _tree_is_the_rfc_tree(first) == 7


def test_two_appenders_at_once_keep_one_tree(stores) -> None:
    cases = [uuid4() for _ in range(4)]
    errors: list[BaseException] = []

    def run(store: LedgerStore, mine: list[Any]) -> None:
        try:
            for n in range(30):
                store.append([appendable(c, n) for c in mine[: 1 + n % 2]])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(store, cases[2 * i : 2 * i + 2]))
        for i, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _tree_is_the_rfc_tree(stores[0]) == 2 * (15 * 1 + 15 * 2)
