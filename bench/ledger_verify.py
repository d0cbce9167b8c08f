"""Benchmark of `caseline verify --all` (entries/s), with a bare read of the same rows as the limit.

`python -m bench.ledger_verify [--entries N]`; embedded PostgreSQL unless CASELINE_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from bench.environment import scratch_database
from services.ledger.application import LedgerApplication
from services.ledger.store import Appendable
from shared.kit.settings import Settings

_TEMPLATE = {
    "specversion": "1.0",
    "source": "/caseline/intake",
    "type": "caseline.intake.FamilyContactRecorded.v1",
    "datacontenttype": "application/json",
    "dataschema": "urn:caseline:schema:intake.FamilyContactRecorded.v1",
    "actor": "bench-registry-officer",
    "agency": "bench-prison-registry",
    "data": {
        "kind": "visit",
        "with_whom": "A synthetic visitor with a name of ordinary length",
        "relationship": "sister",
        "duration_minutes": 45,
        "note": "Synthetic benchmark entry; " + "padding to an ordinary envelope size. " * 12,
    },
}


def _items(count: int, cases: list[str], start: int) -> list[Appendable]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for n in range(start, start + count):
        at = base + timedelta(minutes=n)
        case_id = cases[n % len(cases)]
        envelope = copy.deepcopy(_TEMPLATE)
        envelope.update(
            id=str(uuid4()), subject=case_id, time=at.isoformat(), recordedtime=at.isoformat()
        )
        envelope["data"]["at"] = at.isoformat()  # type: ignore[index]
        out.append(Appendable(envelope["id"], case_id, envelope["type"], at, at, envelope))  # type: ignore[arg-type]
    return out


def fill(ledger: LedgerApplication, entries: int, cases: int) -> float:
    case_ids = [str(uuid4()) for _ in range(cases)]
    started, done = time.perf_counter(), 0
    while done < entries:
        batch = min(500, entries - done)
        ledger.store.append(_items(batch, case_ids, done))
        done += batch
        if done % 1000 == 0 or done == entries:
            ledger.checkpointer.checkpoint_now()
    return time.perf_counter() - started


def bare_read(ledger: LedgerApplication) -> float:
    started = time.perf_counter()
    with ledger.store.stream() as rows:
        for _ in rows:
            pass
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=2_000)
    args = parser.parse_args(argv)
    with scratch_database("bench") as url:
        ledger = LedgerApplication(Settings(environment="test", database_url=url))
        filled = fill(ledger, args.entries, args.cases)
        read = bare_read(ledger)
        report = ledger.verify_all()
        ledger.close()
    assert report.ok, report.problems
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average during the run (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(f"filled {args.entries:,} entries ({args.cases:,} cases) in {filled:.1f} s")
    print(f"bare read of the rows: {args.entries / read:,.0f} entries/s")
    print(
        f"verify --all: {report.events:,} entries, {report.checkpoints} checkpoints in"
        f" {report.seconds:.2f} s = {report.rate:,.0f} entries/s"
    )


if __name__ == "__main__":
    main()
