"""`python -m bench.names [--quick]`: how well and how fast the persons' blind index finds people.

Generated registrars' records (`tests/kit/name_variants.py`): a registry of persons as first
written, then searches for later records of the same persons and for strangers. Prints recall@1
and @5, precision and false candidates per search, index and search speed; appends to RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import time

from bench.report import Figure, Report, Target
from shared.kit.names import BlindIndex, index_key
from tests.kit.name_variants import corpus

THRESHOLD = 0.7  # the score under which a candidate is not proposed (see docs/persons.md)


def measure(registered: int, searched: int, strangers: int, seed: int) -> list[Figure]:
    registry, queries = corpus(registered, searched, strangers, seed)
    index = BlindIndex(index_key(hashlib.sha256(b"bench master key").digest()))
    started = time.perf_counter()
    for person_id, identity in registry.items():
        index.add(person_id, identity)
    indexing = time.perf_counter() - started
    started = time.perf_counter()
    found = [
        ([m.person_id for m in index.search(q, threshold=THRESHOLD)], who) for q, who in queries
    ]
    searching = time.perf_counter() - started
    duplicates = [(ids, who) for ids, who in found if who is not None]
    proposed = sum(len(ids) for ids, _ in found)
    true = sum(who in ids for ids, who in duplicates)
    false = sum(sum(i != who for i in ids) for ids, who in found)
    stranger_false = sum(len(ids) for ids, who in found if who is None)
    return [
        Figure(
            "recall@1",
            100 * sum(ids[:1] == [who] for ids, who in duplicates) / len(duplicates),
            "%",
        ),
        Figure("recall@5", 100 * true / len(duplicates), "%"),
        Figure("precision of the proposals", 100 * true / max(proposed, 1), "%"),
        Figure("false candidates per search", false / len(found), ""),
        Figure("candidates per search for a stranger", stranger_false / max(strangers, 1), ""),
        Figure("indexing", registered / indexing, "persons/s"),
        Figure("search", len(queries) / searching, "searches/s"),
        Figure("digests per person", sum(map(len, index.held.values())) / registered, ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.names", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 persons only (seconds)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = parser.parse_args()
    sizes = (2_000,) if args.quick else (2_000, 10_000)
    report = Report(
        mode="names quick" if args.quick else "names",
        settings=f"seed {args.seed}, threshold {THRESHOLD}, 1,000 searches of registered persons"
        " and 300 of strangers per registry size; top 5 proposed",
    )
    for size in sizes:
        figures = measure(size, 1_000, 300, args.seed)
        report.section(f"Persons' blind index, {size:,} registered", figures)
        if size == 2_000:
            report.targets.append(Target("recall@5 at 2,000 persons", figures[1].value, 95, "%"))
    report.notes.append(
        "false candidates are proposals over the threshold that are another person: at 2,000"
        " persons about 30 % of them bear the very same names (the generator draws from about 80"
        " names), at 10,000 about half; the others share one name token and a birth year or a"
        " parent's name"
    )
    report.print()
    if not args.no_append:
        report.append()


if __name__ == "__main__":
    main()
