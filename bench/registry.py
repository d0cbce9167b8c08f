"""The persons' registry in PostgreSQL as it grows: an arrest's candidate search and its write.

`bench.names` measures the blind index's recall and speed in memory; this measures the registry
as intake runs it (`services.intake.queries.find_persons`, the `person_index` table and the
triggers that keep its counts) at registry sizes a country reaches. Each size is a registry of
generated registrars' records (`tests/kit/name_variants.py`, wide name pools), one case a person,
its rows written as the arrest writes them, the table vacuumed and analysed as autovacuum keeps
it. Then the searches an arrest runs (later records of registered persons, and strangers), and the
write of one more arrest's digests, are timed.

`python -m bench.registry [--sizes 10000,50000,100000]`; embedded PostgreSQL unless
CASELINE_DATABASE_URL. Prints its figures (append them to RESULTS.md by hand).
"""

from __future__ import annotations

import argparse
import io
import os
import time
from uuid import UUID, uuid4, uuid5

import psycopg

from bench.environment import scratch_database
from bench.report import percentile
from services.intake.application import IntakeApplication
from services.intake.queries import THRESHOLD, find_persons
from services.intake.views import PersonIndex
from shared.kit.names import BlindIndex, Identity, person_digests
from shared.kit.settings import Settings
from tests.kit.name_variants import corpus

SEARCHES = 150
STRANGERS = 50
WRITES = 30
_PERSONS = UUID("6f1d3c1e-8a0b-4b8e-9d57-2f4a7c9e0b11")


def fill(conninfo: str, schema: str, key: bytes, registry: dict[str, Identity]) -> float:
    """The registry's rows (one case a person: `case_persons` and its `person_index` rows),
    written by COPY, 5,000 persons a statement: the statement triggers count them (the registry's
    size, each digest's holders, each person's kinds) as they count an arrest's. Seconds taken,
    VACUUM included."""
    started = time.perf_counter()
    persons = list(registry.items())
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for first in range(0, len(persons), 5_000):
            cases, rows = io.StringIO(), io.StringIO()
            for name, identity in persons[first : first + 5_000]:
                case, person = uuid4(), uuid5(_PERSONS, name)
                cases.write(f"{case}\t{person}\t{person}\n")
                rows.writelines(f"{case}\t{d}\t{person}\n" for d in person_digests(identity, key))
            with conn.transaction():  # the case names its person, and the person its digests
                for table, data in (
                    ("case_persons (case_id, person_id, own_person_id)", cases),
                    ("person_index (case_id, digest, person_id)", rows),
                ):
                    with conn.cursor().copy(f"COPY {schema}.{table} FROM STDIN") as sink:
                        sink.write(data.getvalue())
        for table in ("person_index", "digest_holders", "person_kinds", "case_persons"):
            conn.execute(f"VACUUM ANALYZE {schema}.{table}")
    return time.perf_counter() - started


def percentiles(values: list[float]) -> str:
    return ", ".join(f"p{q} {percentile(values, q) or 0:.1f} ms" for q in (50, 90, 99))


def writes(conninfo: str, schema: str, key: bytes, identities: list[Identity]) -> list[float]:
    """Milliseconds to write one more arrest's registry rows (its case's person, its digests,
    their triggers, the commit)."""
    times = []
    with psycopg.connect(conninfo) as conn:
        for identity in identities:
            case, person = uuid4(), uuid4()
            digests = sorted(person_digests(identity, key))
            started = time.perf_counter()
            conn.execute(
                f"INSERT INTO {schema}.case_persons (case_id, person_id, own_person_id)"
                " VALUES (%s, %s, %s)",
                (case, person, person),
            )
            conn.execute(
                f"INSERT INTO {schema}.person_index (case_id, digest, person_id)"
                " SELECT %s, d, %s FROM unnest(%s::text[]) AS d",
                (case, person, digests),
            )
            conn.commit()
            times.append((time.perf_counter() - started) * 1000)
    return times


def agreeing(
    key: bytes,
    registry: dict[str, Identity],
    queries: list[tuple[Identity, str | None]],
    answers: list[list[str]],
) -> int:
    """In how many searches the table proposed what the reference index (`BlindIndex`, which
    `bench.names` measures) proposes over the same registry: the check that the figures above
    are of the search the recall figures are of."""
    reference = BlindIndex(key)
    for name, identity in registry.items():
        reference.add(str(uuid5(_PERSONS, name)), identity)
    return sum(
        [m.person_id for m in reference.search(identity, threshold=THRESHOLD)] == answer
        for (identity, _), answer in zip(queries, answers, strict=True)
    )


def measure(size: int) -> None:
    registry, queries = corpus(size, SEARCHES, STRANGERS, seed=11, wide=True)
    with scratch_database(f"registry{size}") as url:
        app = IntakeApplication(Settings(environment="test", database_url=url))
        try:
            key = app.view_object(PersonIndex).key
            conninfo, schema = app.settings.database.conninfo(), app.store.fmt("{schema}")
            filled = fill(conninfo, schema, key, registry)
            rows = app.fetch("SELECT count(*) FROM {schema}.person_index")[0][0]
            find_persons(app, queries[0][0])  # the connection and the plan's first run
            found, times, answers = 0, [], []
            for identity, who in queries:
                started = time.perf_counter()
                matches = find_persons(app, identity)
                times.append((time.perf_counter() - started) * 1000)
                answers.append([m.person_id for m in matches])
                if who is not None and uuid5(_PERSONS, who) in {UUID(m.person_id) for m in matches}:
                    found += 1
            written = writes(conninfo, schema, key, [identity for identity, _ in queries[:WRITES]])
        finally:
            app.close()
    same = agreeing(key, registry, queries, answers)
    print(
        f"{size:,} persons ({rows:,} index rows, written and vacuumed in {filled:.0f} s):"
        f" an arrest's candidate search {percentiles(times)} ({len(times)} searches, the true"
        f" person proposed in {found} of {SEARCHES}; the same proposals, in the same order,"
        f" as the in-memory reference index in {same} of {len(queries)});"
        f" an arrest's registry write {percentiles(written)}",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.registry", description=__doc__)
    parser.add_argument("--sizes", default="10000,50000,100000", help="registry sizes, persons")
    args = parser.parse_args(argv)
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after the run (1, 5, 15 min): {load} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
