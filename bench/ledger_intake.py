"""The ledger's intake alone: signed envelopes appended as its consumer appends them (validation,
origin signatures, hash chain and tree, access facts, one transaction a batch of 1024), beside a
bare batched insert of the same rows into a copy of the ledger's table.

What the stack's catch-up figure mixes with the other services' work on the same two cores,
measured in one process with nothing else running: the ledger's own cost a message.

`python -m bench.ledger_intake [--events N]`; embedded PostgreSQL unless CASELINE_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from bench.environment import scratch_database
from bench.raw import ledger_rows_insert
from services.ledger.application import LedgerApplication
from services.ledger.inbound import LedgerIntake
from shared.events import build_envelope, subject_for
from shared.events.intake import EvidenceLogged, FamilyContactRecorded
from shared.kit.origins import development_key, origin_keys
from shared.kit.settings import Settings
from shared.kit.subscriber import ACK, Delivery

BATCH = LedgerIntake.batch
TRIES = 3


def deliveries(count: int, cases: int) -> list[Delivery]:
    """`count` signed intake envelopes over `cases` cases, as NATS delivers them: every other one
    an evidence entry, which links its agency to the case (an access fact the ledger writes)."""
    signer = development_key("intake")
    case_ids = [uuid4() for _ in range(cases)]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        at = base + timedelta(minutes=n)
        event: Any
        if n % 2:
            event = EvidenceLogged(
                item_id=f"E-{n}", description="Notebook", collected_by="Adjudant Koné",
                collected_at=at.isoformat(),
            )  # fmt: skip
        else:
            event = FamilyContactRecorded(
                kind="visit", with_whom="A synthetic visitor", relationship="sister",
                at=at.isoformat(),
            )  # fmt: skip
        case = case_ids[n % cases]
        envelope = build_envelope(
            event, event_id=uuid4(), subject=case, actor="bench-officer",
            agency=f"bench-agency-{n % 7}", recorded_at=at,
        )  # fmt: skip
        out.append((subject_for(event, case), json.loads(envelope.to_json_bytes())))
    signed = signer.sign_all([document for _, document in out])
    return [
        Delivery(subject, _compact(document), {"Nats-Msg-Id": document["id"]}, msg=None)
        for (subject, _), document in zip(out, signed, strict=True)
    ]


def _compact(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def intake(ledger: LedgerApplication, messages: list[Delivery]) -> tuple[float, float]:
    """Seconds and CPU seconds (this process, its threads included) to take `messages` in."""
    handler = LedgerIntake(ledger.store, "", ledger.note_access, keys=origin_keys(ledger.settings))
    started, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(messages), BATCH):
        outcomes = handler(messages[first : first + BATCH])
        assert all(o is ACK for o in outcomes), outcomes
    return time.perf_counter() - started, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ledger_intake", description=__doc__)
    parser.add_argument("--events", type=int, default=8_192)
    parser.add_argument("--cases", type=int, default=1_000)
    args = parser.parse_args(argv)
    with scratch_database("bench") as url:
        ledger = LedgerApplication(Settings(environment="test", database_url=url))
        warm = deliveries(BATCH, args.cases)
        intake(ledger, warm)  # connections, prepared statements, the signature threads
        measured = deliveries(args.events, args.cases)
        seconds, cpu = intake(ledger, measured)
        limit = ledger_rows_insert(ledger.settings.database.conninfo(), BATCH + 1)
        ledger.close()
    rate = args.events / seconds
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after the run (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    print(
        f"ledger intake of {args.events:,} signed envelopes ({args.cases:,} cases, half with an"
        f" access fact), {BATCH} a batch: {rate:,.0f} events/s,"
        f" {cpu / args.events * 1e6:,.0f} µs of CPU an event (this process)"
    )
    print(f"bare batched insert of the same rows (256 a transaction): {limit:,.0f} rows/s")
    print(f"ledger intake vs bare batched insert: {rate / limit:.2f} x raw (target 0.50)")


if __name__ == "__main__":
    main()
