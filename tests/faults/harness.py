"""The fault suite's yardstick: every recorded event in the ledger exactly once, in order, verified.

`audit` compares each service's own event store with the ledger's public feed and per-case
verification, and counts what was acknowledged to clients; `ROWS` collects one row per fault for
the table printed at the end of the run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from caseline.reconcile import load_service
from shared.kit.reconcile import Published, published_entries
from shared.kit.settings import Settings

__all__ = ["ROWS", "Audit", "audit", "ledger_entries", "record_cases", "recorded_events", "table"]

ROWS: list[Audit] = []


@dataclass(frozen=True)
class LedgerEntry:
    ledger_seq: int
    case_seq: int
    event_id: UUID
    case_id: str
    source: str


@dataclass
class Audit:
    """One fault's outcome; `clean` when nothing was lost, duplicated, reordered or broken."""

    fault: str
    sent: int
    acknowledged: int
    in_ledger: int
    duplicates: int
    lost: int
    out_of_order: int = 0
    broken_chains: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return (
            self.duplicates == 0
            and self.lost == 0
            and self.out_of_order == 0
            and self.broken_chains == 0
            and self.in_ledger == self.acknowledged
        )


def ledger_entries(client: Any, headers: dict[str, str]) -> list[LedgerEntry]:
    """Every ledger entry, from the public feed (`GET /events`)."""
    out: list[LedgerEntry] = []
    after = 0
    while True:
        response = client.get(f"/events?after={after}&limit=1000", headers=headers)
        assert response.status_code == 200, response.text
        entries = response.json()["entries"]
        if not entries:
            return out
        for e in entries:
            event = e["event"]
            out.append(
                LedgerEntry(
                    e["ledger_seq"],
                    e["case_seq"],
                    UUID(event["id"]),
                    event["subject"],
                    event["source"],
                )
            )
        after = entries[-1]["ledger_seq"]


def recorded_events(settings: Settings, services: Sequence[str]) -> dict[str, list[Published]]:
    """Each service's published events, read from its own store in recording order."""
    out: dict[str, list[Published]] = {}
    for name in services:
        app = load_service(name)(settings)
        try:
            events: list[Published] = []
            start = 1
            while batch := published_entries(app, start, 500):
                events += [p for p in batch if p.event_id is not None]
                start = batch[-1].notification_id + 1
            out[name] = events
        finally:
            app.factory.close()
    return out


def audit(
    fault: str,
    settings: Settings,
    ledger: Any,
    headers: dict[str, str],
    *,
    sent: int,
    acknowledged: Collection[UUID],
    services: Sequence[str] = ("intake",),
    every_answer: Collection[UUID] | None = None,
) -> Audit:
    """Compare the services' stores and what clients were told with the ledger.

    Duplicates are counted over the whole ledger; losses, order and chains over the cases the
    acknowledged commands touched (so one fault's row does not carry an earlier fault's). With
    `every_answer` (all event ids ever acknowledged, when the load is intake's only writer), an
    intake event no client was told about is a command recorded twice, and counts as a duplicate.
    """
    entries = ledger_entries(ledger, headers)
    recorded = recorded_events(settings, services)
    acked = set(acknowledged)
    counts = Counter(e.event_id for e in entries)
    in_ledger = set(counts)
    stored = [p for events in recorded.values() for p in events]
    cases = {e.case_id for e in entries if e.event_id in acked}
    cases |= {p.case for p in stored if p.case is not None and p.event_id in acked}
    in_cases = {p.event_id for p in stored if p.case in cases}
    lost = (acked - in_ledger) | (in_cases - in_ledger) | (acked - {p.event_id for p in stored})
    broken = [
        answer
        for case in sorted(cases)
        if not (answer := ledger.get(f"/cases/{case}/verify", headers=headers).json()).get("ok")
    ]
    return Audit(
        fault=fault,
        sent=sent,
        acknowledged=len(acked),
        in_ledger=len(acked & in_ledger),
        duplicates=sum(n - 1 for n in counts.values()) + _untold(recorded, every_answer),
        lost=len(lost),
        out_of_order=_out_of_order(recorded, entries, cases),
        broken_chains=len(broken),
        notes=[str(b)[:300] for b in broken[:3]],
    )


def _untold(recorded: dict[str, list[Published]], every_answer: Collection[UUID] | None) -> int:
    if every_answer is None:
        return 0
    told = set(every_answer)
    return sum(1 for p in recorded.get("intake", []) if p.event_id not in told)


def _out_of_order(
    recorded: dict[str, list[Published]], entries: list[LedgerEntry], cases: set[str]
) -> int:
    """Cases whose events of one service stand in the ledger in another order than recorded."""
    in_ledger: dict[tuple[str, str], list[UUID]] = defaultdict(list)
    for entry in sorted(entries, key=lambda e: e.ledger_seq):
        in_ledger[(entry.source, entry.case_id)].append(entry.event_id)
    wrong = 0
    for service, events in recorded.items():
        by_case: dict[str, list[UUID]] = defaultdict(list)
        for p in events:
            if p.case is not None and p.case in cases:
                by_case[p.case].append(p.event_id)
        for case, ids in by_case.items():
            if in_ledger.get((f"/caseline/{service}", case), []) != ids:
                wrong += 1
    return wrong


def table(rows: Sequence[Audit]) -> list[str]:
    """The fault table, as printed at the end of the run."""
    head = (
        f"{'fault':<52} {'sent':>6} {'acked':>6} {'in ledger':>9} {'dupl.':>6} {'lost':>5}"
        f" {'order':>6} {'chains':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.fault:<52} {r.sent:>6} {r.acknowledged:>6} {r.in_ledger:>9} {r.duplicates:>6}"
            f" {r.lost:>5} {'ok' if not r.out_of_order else r.out_of_order:>6}"
            f" {'ok' if not r.broken_chains else r.broken_chains:>6}"
        )
    lines += [f"  {r.fault}: {note}" for r in rows for note in r.notes[:1]]
    return lines


def record_cases(intake: Any, settings: Settings, cases: int) -> list[UUID]:
    """Arrest and admit `cases` people through intake's API; every command must be acknowledged."""
    from tests.support import admission_payload, arrest_payload, auth

    police, registry = auth(settings, "police"), auth(settings, "prison_registry")
    acked: list[UUID] = []
    for _ in range(cases):
        opened = intake.post("/cases", json=arrest_payload(), headers=police)
        assert opened.status_code == 201, opened.text
        case_id = opened.json()["case_id"]
        admitted = intake.post(
            f"/cases/{case_id}/admission", json=admission_payload(), headers=registry
        )
        assert admitted.status_code == 201, admitted.text
        acked += [UUID(opened.json()["event_id"]), UUID(admitted.json()["event_id"])]
    return acked
