"""Aggregate statistics for monitoring and evaluation, computed from the ledger's own entries.

Every service's events are in the ledger with their case; voided entries are left out. Each figure
is cut by period (local dates of the jurisdiction) and by facility (the one the case was in at the
time), with margins, and passes disclosure control (`disclosure`) before anyone sees it. Nothing
per case leaves this module: no case id, no person, only counts, medians and 90th percentiles.
The indicators are defined in docs/statistics.md.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from services.ledger.disclosure import extended, suppress
from shared.kit.jurisdiction import Jurisdiction

__all__ = [
    "COUNTS",
    "DATA_KEYS",
    "DURATIONS",
    "NO_FACILITY",
    "PERIODS",
    "READ_TYPES",
    "Fact",
    "Period",
    "StatsQuery",
    "compute",
    "period_keys",
]

Period = Literal["month", "quarter", "year"]
PERIODS: tuple[Period, ...] = ("month", "quarter", "year")
NO_FACILITY = "(not admitted)"
"""The facility of a case never admitted to a prison (police custody only, or released before)."""

_I, _J, _A, _P = (
    "caseline.intake.",
    "caseline.judicial.",
    "caseline.assessment.",
    "caseline.programmes.",
)
ARREST, ADMITTED, TRANSFERRED, RELEASED = (
    f"{_I}ArrestRecorded.v1", f"{_I}DetaineeAdmitted.v1", f"{_I}DetaineeTransferred.v1",
    f"{_I}DetaineeReleased.v1",
)  # fmt: skip
LINK_CONFIRMED = f"{_I}PersonLinkConfirmed.v1"
BREACHED, RENEWED = f"{_J}DetentionDeadlineBreached.v1", f"{_J}PreTrialDetentionRenewed.v1"
HEARING_HELD, VERDICT = f"{_J}HearingHeld.v1", f"{_J}VerdictDelivered.v1"
DUE, SUBMITTED = f"{_A}AssessmentDue.v1", f"{_A}AssessmentSubmitted.v1"
ENROLLED, COMPLETED = f"{_P}ParticipantEnrolled.v1", f"{_P}ParticipantCompleted.v1"
FOLLOW_UP = f"{_P}FollowUpRecorded.v1"
VOIDS = tuple(
    f"caseline.{s}.EntryVoided.v1" for s in ("intake", "judicial", "assessment", "programmes")
)
READ_TYPES = (
    ARREST, ADMITTED, TRANSFERRED, RELEASED, LINK_CONFIRMED, BREACHED, RENEWED, HEARING_HELD,
    VERDICT, DUE, SUBMITTED, ENROLLED, COMPLETED, FOLLOW_UP, *VOIDS,
)  # fmt: skip
"""The entry types the statistics read; every other entry is left in the database."""
DATA_KEYS = ("facility", "to_facility", "due_by", "person_id", "voided_event_id")
"""The payload fields the statistics use; a fact keeps only these."""

REARREST_WINDOWS = (12, 24, 36)
COUNTS = (
    "arrests", "persons_arrested", "deadline_breaches", "breaches_ended", "trials", "assessments_due",
    "assessments_on_time", "enrolments", "completions", "releases", "follow_ups",
    *(f"releases_followed_{m}m" for m in REARREST_WINDOWS),
    *(f"rearrested_within_{m}m" for m in REARREST_WINDOWS),
)  # fmt: skip
"""The counts, in the order they are shown."""
DURATIONS = {"breach_days": "breaches_ended", "arrest_to_trial_days": "trials"}
"""Each duration (median and 90th percentile, in days) → the count of the group it summarises:
the duration is suppressed wherever that count is."""


@dataclass(frozen=True)
class Fact:
    """One entry as the statistics read it: its case, type, id, world time and payload."""

    case_id: str
    type: str
    event_id: str
    time: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, case_id: str, type_: str, event_id: str, time: datetime, data: Any) -> Fact:
        """The fact of an entry, its payload trimmed to what the statistics use."""
        kept = {k: data[k] for k in DATA_KEYS if isinstance(data, dict) and k in data}
        return cls(case_id, type_, event_id, time, kept)


@dataclass(frozen=True)
class StatsQuery:
    """What is asked: the period, the local dates from and to (both included), and the instant
    the answer is as of (re-arrest windows count only when elapsed by then)."""

    period: Period
    start: date
    end: date
    as_of: datetime
    min_cell: int


@dataclass
class _Occurrences:
    """What happened, by indicator: (instant, facility) and, for durations, the days."""

    counts: dict[str, list[tuple[datetime, str]]] = field(default_factory=lambda: defaultdict(list))
    durations: dict[str, list[tuple[datetime, str, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def period_keys(period: Period, start: date, end: date) -> list[str]:
    """The periods from `start` to `end`, in order: `2026-03`, `2026-Q1` or `2026`."""
    keys: list[str] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        key = period_key(period, date(year, month, 1))
        if not keys or keys[-1] != key:
            keys.append(key)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def period_key(period: Period, day: date) -> str:
    if period == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if period == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def add_months(instant: datetime, months: int, zone: Any) -> datetime:
    """The same local time `months` calendar months later (the last day of a shorter month)."""
    local = instant.astimezone(zone)
    total = local.month - 1 + months
    year, month = local.year + total // 12, total % 12 + 1
    following = date(year + month // 12, month % 12 + 1, 1)
    day = min(local.day, (following - timedelta(days=1)).day)
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def compute(facts: Iterable[Fact], query: StatsQuery, rules: Jurisdiction) -> dict[str, Any]:
    """The published statistics: every count and duration by facility and period, with margins,
    small counts and their complements suppressed."""
    occurred = _occurrences(list(facts), query, rules)
    periods = period_keys(query.period, query.start, query.end)

    zone, keys = rules.zone, dict[date, str | None]()

    def where(instant: datetime) -> str | None:
        day = instant.astimezone(zone).date()
        if day not in keys:
            keys[day] = period_key(query.period, day) if query.start <= day <= query.end else None
        return keys[day]

    counted = {
        name: [(p, f) for t, f in occurred.counts[name] if (p := where(t)) is not None]
        for name in COUNTS
    }
    measured = {
        name: [(p, f, d) for t, f, d in occurred.durations[name] if (p := where(t)) is not None]
        for name in DURATIONS
    }
    facilities = sorted({f for items in counted.values() for _, f in items})
    tables = {
        name: _count_table(counted[name], facilities, periods, query.min_cell) for name in COUNTS
    }
    indicators: list[dict[str, Any]] = [
        {"name": name, "kind": "count", "cells": tables[name][0]} for name in COUNTS
    ]
    for name, base in DURATIONS.items():
        cells = _duration_cells(measured[name], facilities, periods, tables[base][1])
        indicators.append({"name": name, "kind": "duration", "of": base, "cells": cells})
    return {
        "jurisdiction": rules.code,
        "time_zone": rules.time_zone,
        "period": query.period,
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "as_of": query.as_of.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "min_cell": query.min_cell,
        "facilities": facilities,
        "periods": periods,
        "indicators": indicators,
    }


def _labels(
    facilities: Sequence[str], periods: Sequence[str]
) -> tuple[list[str | None], list[str | None]]:
    # The last row and column of the extended grid are the margins: None = every facility/period.
    return [*facilities, None], [*periods, None]


def _count_table(
    items: list[tuple[str, str]], facilities: list[str], periods: list[str], min_cell: int
) -> tuple[list[dict[str, Any]], set[tuple[int, int]]]:
    row_of = {f: i for i, f in enumerate(facilities)}
    column_of = {p: j for j, p in enumerate(periods)}
    table = [[0] * len(periods) for _ in facilities]
    for period, facility in items:
        table[row_of[facility]][column_of[period]] += 1
    grid = extended(table, len(periods))
    hidden = suppress(table, len(periods), min_cell)
    rows, columns = _labels(facilities, periods)
    cells = [
        {
            "facility": rows[i],
            "period": columns[j],
            "value": None if (i, j) in hidden else grid[i][j],
            "suppressed": (i, j) in hidden,
        }
        for i in range(len(rows))
        for j in range(len(columns))
    ]
    return cells, hidden


def _duration_cells(
    items: list[tuple[str, str, float]],
    facilities: list[str],
    periods: list[str],
    hidden: set[tuple[int, int]],
) -> list[dict[str, Any]]:
    rows, columns = _labels(facilities, periods)
    groups: dict[tuple[str | None, str | None], list[float]] = defaultdict(list)
    for at_period, at_facility, length in items:
        for key in ((at_facility, at_period), (at_facility, None), (None, at_period), (None, None)):
            groups[key].append(length)
    cells = []
    for i, facility in enumerate(rows):
        for j, period in enumerate(columns):
            days = groups.get((facility, period), [])
            shown = (i, j) not in hidden and bool(days)
            cells.append(
                {
                    "facility": facility,
                    "period": period,
                    "median": round(statistics.median(days), 1) if shown else None,
                    "p90": round(_p90(days), 1) if shown else None,
                    "suppressed": (i, j) in hidden,
                }
            )
    return cells


def _p90(values: list[float]) -> float:
    """The 90th percentile by the nearest rank: the smallest value at or above 90% of them."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


# --- from entries to occurrences -------------------------------------------------------------


def _occurrences(facts: list[Fact], query: StatsQuery, rules: Jurisdiction) -> _Occurrences:
    voided = {str(f.data.get("voided_event_id")) for f in facts if f.type in VOIDS}
    kept = [f for f in facts if f.type not in VOIDS and f.event_id not in voided]
    by_case: dict[str, list[Fact]] = defaultdict(list)
    for fact in kept:
        by_case[fact.case_id].append(fact)
    stays = {case: _stays(items) for case, items in by_case.items()}
    out = _Occurrences()
    for case, items in by_case.items():
        _case_occurrences(case, items, stays[case], out)
    person = _persons(by_case)
    _persons_arrested(by_case, person, stays, query, rules, out)
    _rearrests(by_case, person, stays, query, rules, out)
    return out


def _stays(items: list[Fact]) -> tuple[list[datetime], list[str]]:
    """The case's admissions and transfers in world time: when, and into which facility."""
    moves = sorted(
        (f.time, str(f.data.get("facility") if f.type == ADMITTED else f.data.get("to_facility")))
        for f in items
        if f.type in (ADMITTED, TRANSFERRED)
    )
    return [t for t, _ in moves], [name for _, name in moves]


def _facility_at(stays: tuple[list[datetime], list[str]], instant: datetime) -> str:
    """The facility the case was in at `instant`; before its first admission, the facility it
    was first admitted to (an arrest counts where the person was then held)."""
    times, names = stays
    if not names:
        return NO_FACILITY
    at = bisect.bisect_right(times, instant) - 1
    return names[max(at, 0)]


_SIMPLE = {
    ARREST: "arrests",
    BREACHED: "deadline_breaches",
    ENROLLED: "enrolments",
    COMPLETED: "completions",
    RELEASED: "releases",
    FOLLOW_UP: "follow_ups",
}
_ENDS_A_BREACH = (RENEWED, VERDICT, RELEASED)


def _case_occurrences(
    case: str, items: list[Fact], stays: tuple[list[datetime], list[str]], out: _Occurrences
) -> None:
    def at(instant: datetime) -> str:
        return _facility_at(stays, instant)

    for fact in items:
        name = _SIMPLE.get(fact.type)
        if name is not None:
            out.counts[name].append((fact.time, at(fact.time)))
    ends = sorted(f.time for f in items if f.type in _ENDS_A_BREACH)
    for breach in (f for f in items if f.type == BREACHED):
        end = next((t for t in ends if t >= breach.time), None)
        if end is not None:
            out.counts["breaches_ended"].append((breach.time, at(breach.time)))
            out.durations["breach_days"].append(
                (breach.time, at(breach.time), _days(breach.time, end))
            )
    arrests = sorted(f.time for f in items if f.type == ARREST)
    trials = sorted(f.time for f in items if f.type in (HEARING_HELD, VERDICT))
    if arrests and trials and trials[0] >= arrests[0]:
        trial = trials[0]
        out.counts["trials"].append((trial, at(trial)))
        out.durations["arrest_to_trial_days"].append((trial, at(trial), _days(arrests[0], trial)))
    _assessments(items, at, out)


def _assessments(items: list[Fact], at: Any, out: _Occurrences) -> None:
    """Each assessment that fell due, paired in ledger order with the next submission of the
    case; on time when submitted by its `due_by`."""
    waiting: list[datetime] = []
    for fact in items:
        if fact.type == DUE:
            due_by = datetime.fromisoformat(str(fact.data["due_by"]))
            waiting.append(due_by)
            out.counts["assessments_due"].append((due_by, at(due_by)))
        elif fact.type == SUBMITTED and waiting:
            due_by = waiting.pop(0)
            if fact.time <= due_by:
                out.counts["assessments_on_time"].append((due_by, at(due_by)))


def _persons(by_case: dict[str, list[Fact]]) -> dict[str, str]:
    """The person each case names: its arrest's `person_id` (the case itself before persons were
    recorded), replaced in ledger order by each confirmed link."""
    named: dict[str, str] = {}
    for case, items in by_case.items():
        named[case] = case
        for fact in items:
            if fact.type in (ARREST, LINK_CONFIRMED) and fact.data.get("person_id"):
                named[case] = str(fact.data["person_id"])
    return named


def _persons_arrested(
    by_case: dict[str, list[Fact]],
    person: dict[str, str],
    stays: dict[str, tuple[list[datetime], list[str]]],
    query: StatsQuery,
    rules: Jurisdiction,
    out: _Occurrences,
) -> None:
    """Each person arrested in the span asked, once: at the time and facility of their first
    arrest in the span (so that the table adds up and its margins count each person once)."""
    first: dict[str, tuple[datetime, str]] = {}
    for case, items in by_case.items():
        for fact in items:
            if fact.type != ARREST:
                continue
            if not query.start <= fact.time.astimezone(rules.zone).date() <= query.end:
                continue
            someone = person[case]
            if someone not in first or fact.time < first[someone][0]:
                first[someone] = (fact.time, case)
    for at, case in first.values():
        out.counts["persons_arrested"].append((at, _facility_at(stays[case], at)))


def _rearrests(
    by_case: dict[str, list[Fact]],
    person: dict[str, str],
    stays: dict[str, tuple[list[datetime], list[str]]],
    query: StatsQuery,
    rules: Jurisdiction,
    out: _Occurrences,
) -> None:
    """Each release whose window has elapsed by `as_of`, and whether the person was arrested
    again, on another case, within it."""
    arrests: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for case, items in by_case.items():
        arrests[person[case]] += [(f.time, case) for f in items if f.type == ARREST]
    for case, items in by_case.items():
        for release in (f for f in items if f.type == RELEASED):
            facility = _facility_at(stays[case], release.time)
            for months in REARREST_WINDOWS:
                try:
                    closes = add_months(release.time, months, rules.zone)
                except (ValueError, OverflowError):  # past the calendar: never elapsed
                    continue
                if closes > query.as_of:
                    continue
                out.counts[f"releases_followed_{months}m"].append((release.time, facility))
                if any(
                    other != case and release.time < t <= closes
                    for t, other in arrests[person[case]]
                ):
                    out.counts[f"rearrested_within_{months}m"].append((release.time, facility))
