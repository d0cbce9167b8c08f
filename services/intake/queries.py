"""Intake's reads: one case's view (from its aggregate), the paged list of cases (from the
case register), and the person registry's candidates (from the blind index)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from services.intake.application import IntakeApplication
from services.intake.domain import Case
from services.intake.domain.state import Custody
from services.intake.views import CaseRegister, PersonIndex
from shared.events.intake import (
    ArrestRecorded,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    EvidenceLogged,
    FamilyContactRecorded,
)
from shared.events.judicial import ErasureOrdered, ReleaseOrdered
from shared.kit.names import Identity, Match, Scorer, query_probes, rough_gains
from shared.kit.paging import Page, TimeText, Where, fetch_page
from shared.kit.redaction import ALWAYS, Entries, Source, ViewSources
from shared.kit.scope import Scope, condition, former_condition

__all__ = [
    "CASE_VIEW_SOURCES",
    "CaseItem",
    "CasePage",
    "FormerDetainee",
    "PersonSight",
    "candidates",
    "case_view",
    "find_persons",
    "list_cases",
]


class CaseItem(BaseModel):
    """A case the caller may see."""

    case_id: UUID
    full_name: str
    arrested_at: TimeText
    returning_foreign_fighter: bool
    status: str
    facility: str | None
    version: int


class FormerDetainee(BaseModel):
    """A person the caller's facility held before (a transfer out, a release): the name and
    that they left, nothing of the case."""

    case_id: UUID
    full_name: str
    status: Literal["left_facility"]
    history: Literal[True]


class CasePage(Page[CaseItem | FormerDetainee]):
    """A page of the cases."""


def list_cases(
    app: IntakeApplication,
    limit: int,
    offset: int,
    facility: str | None = None,
    *,
    scope: Scope,
) -> dict[str, Any]:
    """The cases the scope may see, newest arrest first; a facility's former detainees as
    history entries (the name and that they left, nothing of the case).

    `facility` chooses among the cases the scope sees whole; it never applies to history
    entries, whose facility now is another's (a filter on it would tell the former facility
    where the person went): with a facility asked for, no history entry is listed.
    """
    current, params = condition(scope, "r.case_id")
    where = Where()
    if facility:
        where.add(f"({current}) AND r.facility = %s", *params, facility)
    else:
        former, former_params = former_condition(scope, "r.case_id")
        where.add(f"({current}) OR ({former})", *params, *former_params)
    page = fetch_page(
        app.fetch,
        select="SELECT r.case_id, r.name_kid, r.name_ct, r.arrested_at,"
        f" r.returning_foreign_fighter, r.status, r.facility, r.version, ({current})",
        select_params=params,
        source="FROM {schema}.case_register r",
        where=where,
        order_by="r.arrested_at DESC, r.case_id",
        limit=limit,
        offset=offset,
    )
    name = app.view_object(CaseRegister).name
    items = [
        {
            "case_id": str(r[0]),
            "full_name": name(r[0], r[1], r[2]),
            "arrested_at": r[3].isoformat(),
            "returning_foreign_fighter": r[4],
            "status": r[5],
            "facility": r[6],
            "version": r[7],
        }
        if r[8]
        else {
            "case_id": str(r[0]),
            "full_name": name(r[0], r[1], r[2]),
            "status": "left_facility",
            "history": True,
        }
        for r in page.rows
    ]
    return page.answer(items)


CASE_VIEW_SOURCES: ViewSources = {
    "case_id": ALWAYS,
    "person_id": Source(ArrestRecorded.type_name(), "person_id"),
    "status": ALWAYS,
    "version": ALWAYS,
    "person": Source(ArrestRecorded.type_name(), "person"),
    "arrest": Source(ArrestRecorded.type_name()),
    "facility": Source(DetaineeAdmitted.type_name(), "facility"),
    "admitted_at": Source(DetaineeAdmitted.type_name(), "admitted_at"),
    "released_at": Source(DetaineeReleased.type_name(), "released_at"),
    "release_order_id": Source(DetaineeReleased.type_name(), "release_order_id"),
    "custody": Source(CustodyStarted.type_name()),
    "evidence": Source(EvidenceLogged.type_name()),
    "release_orders": Source(ReleaseOrdered.type_name()),
    "erasure_orders": Source(ErasureOrdered.type_name()),
    "family_contacts": Source(FamilyContactRecorded.type_name()),
    "entries": Entries("intake"),
}
"""Where each key of intake's case view comes from (`shared.kit.redaction`)."""


def case_view(app: IntakeApplication, case_id: UUID) -> tuple[dict[str, Any], int]:
    """Intake's current view of one case, and its version."""
    case = app.load(Case, case_id)
    state = case.state()
    view = {
        "case_id": str(case.id),
        "person_id": str(case.person_id),
        "status": state.status,
        "person": case.arrest.person.model_dump(mode="json"),
        "arrest": case.arrest.model_dump(mode="json", exclude={"person"}),
        "facility": state.facility,
        "admitted_at": _iso(state.admitted_at),
        "released_at": _iso(state.released_at),
        "release_order_id": _plain(state.release_order_id),
        "custody": _custody(state.custody),
        "evidence": [_plain(asdict(trail)) for trail in state.evidence.values()],
        "release_orders": [
            _plain(asdict(order), leave_out="order_event_id")
            for order in case.release_orders.values()
        ],
        "erasure_orders": [
            _plain(asdict(order), leave_out="order_event_id")
            for order in case.erasure_orders().values()
        ],
        "family_contacts": state.family_contacts,
        "entries": [
            {
                "type": e.name,
                "event_id": str(e.event_id),
                "voided": case.is_voided(e.event_id),
                "voided_by": _plain(case.voided_by.get(e.event_id)),
            }
            for e in case.entries
        ],
    }
    return view, case.version


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _plain(value: Any, leave_out: str = "") -> Any:
    """A value of the case's state as JSON: times in RFC 3339, ids as text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != leave_out}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if isinstance(value, UUID) else value


def _custody(custody: Custody | None) -> dict[str, Any] | None:
    if custody is None:
        return None
    view = _plain(asdict(custody), leave_out="started_event_id")
    view["extensions"] = len(custody.extensions)
    view["legal_source"] = view.pop("source")
    return dict(view)


# --- the person registry ---------------------------------------------------------------------

THRESHOLD = 0.7
"""Candidates scoring under this are not proposed (docs/persons.md)."""


def find_persons(
    app: IntakeApplication,
    identity: Identity,
    *,
    leave_out: UUID | None = None,
    limit: int = 5,
    pool: int = 200,
    sight: PersonSight | None = None,
) -> list[Match]:
    """The persons of the blind index that may be `identity`, best first: the top `limit` over the
    threshold and any tying the last, ranked as `shared.kit.names.BlindIndex.search` ranks.

    The database does the gathering: it ranks the persons holding any of the query's digests
    roughly (`rough_gains`) and answers the best `pool` of them, each with the query's digests
    it holds (those `rough_gains` weighs) and how many name, parent and birth-year digests it
    has (`person_kinds`, kept counted by the view), which is all `Scorer` reads. Nothing grows
    with the registry on this side but the rows of the pool; in the database, the gathering
    reads every holder of the query's digests.

    With `sight`, the best are chosen among the persons the caller may see (`PersonSight`)."""
    index = app.view_object(PersonIndex)
    probes = query_probes(identity, index.key)
    wanted = sorted({p.digest for p in probes})
    # The persons the registry knows, and how many hold each of the query's digests: kept
    # counted by the view (`PersonIndex`), not counted here.
    kept = app.fetch(
        "SELECT NULL, persons FROM {schema}.registry_size UNION ALL"
        " SELECT digest, persons FROM {schema}.digest_holders WHERE digest = ANY(%s)",
        (wanted,),
    )
    holders = {digest: int(n) for digest, n in kept if digest is not None}
    persons = sum(int(n) for digest, n in kept if digest is None)
    weight = {d: math.log(1 + (1 + persons) / (1 + holders.get(d, 0))) for d in wanted}
    gains = rough_gains(probes, weight)
    # One statement: the persons holding any of the query's digests, ranked roughly (each query
    # token once, at the best gain the person meets it); the best `pool` of them with the
    # query's digests each holds (from the index, by person) and its digests' kinds as the
    # registry keeps them counted.
    digests = [g.digest for g in gains]
    rows = app.fetch(
        "WITH q AS (SELECT * FROM unnest(%s::text[], %s::int[], %s::float8[], %s::bool[])"
        " AS q(digest, grp, gain, name)),"
        " best AS (SELECT p.person_id, max(q.gain) AS gain, bool_or(q.name) AS name"
        " FROM {schema}.person_index p JOIN q ON q.digest = p.digest"
        " WHERE p.person_id IS DISTINCT FROM %s::uuid GROUP BY p.person_id, q.grp),"
        " chosen AS (SELECT person_id FROM best GROUP BY person_id HAVING bool_or(name)"
        " ORDER BY sum(gain) DESC, person_id LIMIT %s)"
        " SELECT c.person_id, array_agg(p.digest), coalesce(min(k.names), 0),"
        " coalesce(min(k.fathers), 0), coalesce(min(k.mothers), 0), coalesce(min(k.years), 0)"
        " FROM chosen c JOIN {schema}.person_index p"
        " ON p.person_id = c.person_id AND p.digest = ANY(%s::text[])"
        " LEFT JOIN {schema}.person_kinds k ON k.person_id = c.person_id GROUP BY c.person_id",
        (
            digests,
            [g.group for g in gains],
            [g.gain for g in gains],
            [g.name for g in gains],
            leave_out,
            pool,
            digests,
        ),
    )
    return Scorer(probes, weight).rank(
        (
            (
                str(person),
                frozenset(held),
                dict(zip(("ns:", "fs:", "ms:", "by:"), counts, strict=True)),
            )
            for person, held, *counts in rows
        ),
        limit,
        THRESHOLD,
        admit=sight,
    )


class PersonSight:
    """Which of the persons a search found the caller may be answered about: those with a case
    the caller may see. Of the others nothing is answered (no id, score or reasons: varying a
    query against them would tell their birth and parents bit by bit), only whether there are
    any (`elsewhere`), and a person whose every case is sealed counts only for the roles that
    read sealed cases (to the others a sealed case does not exist)."""

    def __init__(self, app: IntakeApplication, scope: Scope) -> None:
        self.app = app
        self.scope = scope
        self.cases: dict[str, list[str]] = {}
        self.elsewhere = False

    def __call__(self, persons: list[str]) -> set[str]:
        if not persons:
            return set()
        index = self.app.view_object(PersonIndex)
        rows = index.cases_of(self.app, [UUID(p) for p in persons])
        ids = [str(r[0]) for r in rows]
        visible = self.app.access.visible_set(self.scope, ids)
        existing = set(ids) if self.scope.sees_sealed else _unsealed(self.app, ids)
        cases: dict[str, list[str]] = defaultdict(list)
        hidden: set[str] = set()
        for case_id, person_id in rows:
            if str(case_id) in visible:
                cases[str(person_id)].append(str(case_id))
            elif str(case_id) in existing:
                hidden.add(str(person_id))
        self.cases = dict(cases)
        self.elsewhere = bool(hidden - set(cases))
        return set(cases)


def _unsealed(app: IntakeApplication, case_ids: list[str]) -> set[str]:
    rows = app.fetch(
        "SELECT c.id FROM unnest(%s::text[]) AS c(id) WHERE NOT EXISTS"
        " (SELECT 1 FROM {schema}.sealed_cases s WHERE s.case_id = c.id)",
        (sorted(set(case_ids)),),
    )
    return {str(r[0]) for r in rows}


def candidates(matches: list[Match], sight: PersonSight) -> dict[str, Any]:
    """The matches as answered: person, score, reasons and the cases of that person the caller
    may see; and `similar_elsewhere`, whether a person the caller may not see scored too."""
    return {
        "candidates": [
            {
                "person_id": m.person_id,
                "score": m.score,
                "reasons": list(m.reasons),
                "cases": [{"case_id": c} for c in sight.cases.get(m.person_id, [])],
            }
            for m in matches
        ],
        "similar_elsewhere": sight.elsewhere,
    }
