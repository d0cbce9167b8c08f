"""The hostile read matrix: every `GET` route of every service, the ledger included (found by
walking the apps, so a new route is in it at once), for every role, read as a careful outsider
would.

A route naming ids is read for a case of each kind — linked to the reader, linked to another
agency, sealed, unknown — with the ids in every spelling of a UUID: each spelling gets the same
status (the table's) and the same answer, and the read audit names the case in its canonical
spelling. A list is read page after page under each of its filters. No answer is a 5xx, none
carries the id of a case the reader may not see, a marked field the table hides from the reader,
or (in the ledger) an event type the reader may not see. Bad ids are a 4xx problem, audited as
refused.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.permissions import ROLES, SERVICE_READERS
from tests.access.reads import READ_AGENCY, audited_outcome, expected_read, read_ids
from tests.access.records import KINDS, MARKS, hidden_marks, records_of
from tests.access.routes import READ_ROUTES, READ_SERVICES
from tests.access.sweep import (
    SPELLINGS,
    carried,
    get_routes,
    guarded_routes,
    hidden_types,
    list_variants,
    pages,
    parsed,
    path_params,
    spelled_path,
    unfillable,
)
from tests.access.world import World
from tests.support import arrest_payload

ROLE_ORDER = sorted(ROLES)
NAMING = [(s, r) for s, r in guarded_routes() if path_params(r)]
LISTING = [(s, r) for s, r in guarded_routes() if not path_params(r)]


def kinds_of(route: str) -> tuple[str, ...]:
    """The kinds of case a route is read for: every kind when it names a case; a programme is
    one's own or another organisation's; other things (an instrument, a checkpoint) exist or not."""
    if "{case_id}" in route:
        return KINDS
    return ("own", "other", "unknown") if "{programme_id}" in route else ("own", "unknown")


CELLS = [(s, r, role, kind) for s, r in NAMING for role in ROLE_ORDER for kind in kinds_of(r)]
LISTS = [(s, r, role) for s, r in LISTING for role in ROLE_ORDER]

VOLATILE = frozenset(
    {
        ("ledger", "/cases/{case_id}/verify"),
        ("ledger", "/cases/{case_id}/export"),
        ("ledger", "/audit/cases/{case_id}"),
    }
)
"""Routes whose answer moves between two reads of an unchanged case (the ledger's latest
checkpoint, the reads of the case themselves): compared by status only."""

_MOMENT_KEYS = frozenset({"as_of"})


def cell(value: object) -> str:
    return str(value).strip("/").replace("/", ".").replace("{", "").replace("}", "") or "root"


def user_of(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:8]}"


# --- the routes --------------------------------------------------------------------------


def test_every_get_route_is_in_the_matrix_or_listed_as_unguarded():
    assert unfillable() == []
    for service in READ_SERVICES:
        guarded = {r for s, r in guarded_routes() if s == service}
        assert guarded == set(READ_ROUTES[service]), service


def test_the_matrix_finds_the_routes_of_every_service():
    assert all(get_routes(s) for s in READ_SERVICES)
    assert {s for s, _ in NAMING} == set(READ_SERVICES)


# --- routes naming ids -------------------------------------------------------------------


def _moment_free(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _moment_free(v) for k, v in body.items() if k not in _MOMENT_KEYS}
    if isinstance(body, list):
        return [_moment_free(v) for v in body]
    return body


def _read_spellings(world: World, service: str, route: str, role: str, ids: dict[str, str]):
    user = user_of(role)
    answers = {}
    for spelling in SPELLINGS:
        path = spelled_path(route, ids, spelling)
        answers[spelling] = world.get(service, path, role, sub=user, agency=READ_AGENCY)
    return user, answers


def _check_carried(world: World, role: str, response: Any, asked: str | None = None) -> None:
    """The answer carries no case the role may not see (but the one it asked about, which a
    refusal may name), no marked field hidden from it, no ledger entry of a type hidden from it."""
    forbidden = records_of(world).forbidden(role) - {asked}
    leaks = carried(response.text, forbidden, hidden_marks(role))
    assert leaks == [], (response.status_code, leaks)
    assert hidden_types(role, parsed(response.text)) == []


@pytest.mark.parametrize(("service", "route", "role", "kind"), CELLS, ids=cell)
def test_every_spelling_of_an_id_gets_the_answer_the_table_gives(world, service, route, role, kind):
    ids = read_ids(world, kind)
    expected = expected_read(service, route, role, kind)

    user, answers = _read_spellings(world, service, route, role, ids)

    statuses = {s: a.status_code for s, a in answers.items()}
    assert statuses == dict.fromkeys(SPELLINGS, expected), [a.text[:300] for a in answers.values()]
    for answer in answers.values():
        _check_carried(world, role, answer, ids["case_id"] if "{case_id}" in route else None)
        if answer.status_code >= 400:
            assert answer.headers["content-type"].startswith("application/problem+json")
    if (service, route) not in VOLATILE:
        bodies = [_moment_free(parsed(a.text)) for a in answers.values()]
        assert all(b == bodies[0] for b in bodies), bodies
    case_id = ids["case_id"] if "{case_id}" in route else None
    entries = world.audit(service, actor=user)
    assert [(e["route"], e["case_id"], e["outcome"]) for e in entries] == [
        (f"GET {route}", case_id, audited_outcome(expected))
    ] * len(SPELLINGS)


# --- lists -------------------------------------------------------------------------------


def _sizes(world: World) -> dict[str, Any]:
    size = int(read_ids(world, "own")["size"])
    # The person registry's search, by the name the records' arrests give.
    name = arrest_payload()["person"]["full_name"]
    return {"ledger_seq": 1, "tree_size": size, "first": 1, "second": size, "name": name}


def _pages(world: World, service: str, route: str, role: str, user: str, params: dict[str, Any]):
    return pages(world, service, route, role, params, sub=user, agency=READ_AGENCY)


@pytest.mark.parametrize(("service", "route", "role"), LISTS, ids=cell)
def test_a_list_names_no_case_and_shows_no_field_the_table_hides_from_the_reader(
    world, service, route, role
):
    records_of(world)
    expected = expected_read(service, route, role)
    user, count = user_of(role), 0

    for params in list_variants(service, route, _sizes(world)):
        for response in _pages(world, service, route, role, user, params):
            count += 1
            assert response.status_code == expected, (params, response.text[:300])
            _check_carried(world, role, response)

    assert count  # the list was read at all
    entries = world.audit(service, actor=user)
    assert [(e["route"], e["outcome"]) for e in entries] == [
        (f"GET {route}", audited_outcome(expected))
    ] * count


# --- the scans are not empty: the records are there for those who may see them ------------

_ALL = ("own", "other", "sealed", "other_out", "sealed_out")
LISTED = {
    ("intake", "/cases"): _ALL,
    ("judicial", "/cases"): _ALL,
    ("judicial", "/deadlines"): ("own", "other", "sealed"),
    ("assessment", "/cases"): ("own", "other", "sealed"),
    ("assessment", "/reviews"): ("own", "other", "sealed"),
    ("assessment", "/placements/conflicts"): ("own", "sealed"),
    ("programmes", "/cases"): _ALL,
    ("programmes", "/referrals"): ("own", "sealed", "sealed_out"),
    ("programmes", "/follow-ups"): ("other_out", "sealed_out"),
    ("ledger", "/events"): _ALL,
}
"""List → the records an auditor (of the readers' agency) finds in it."""

CASE_LISTS = [("intake", "/cases"), ("judicial", "/cases"), ("judicial", "/deadlines")]
CASE_LISTS += [("assessment", "/cases"), ("assessment", "/reviews"), ("programmes", "/cases")]
CASE_LISTS += [("programmes", "/referrals"), ("ledger", "/events")]
"""Lists in which every reader finds `own`: it is theirs, held, detained, due a review and
referred to their agency (the readers' incoming referrals)."""
OWN_READS = [
    (s, r, role) for s, r in CASE_LISTS for role in ROLE_ORDER if expected_read(s, r, role) == 200
]
"""The lists each role reads (a role refused a list is checked by the guard's cells above)."""


def _walk(world: World, service: str, route: str, role: str) -> str:
    base = list_variants(service, route, _sizes(world))[0]
    answers = _pages(world, service, route, role, user_of(role), base)
    return "\n".join(answer.text for answer in answers)


@pytest.mark.parametrize(("service", "route"), sorted(LISTED), ids=cell)
def test_an_auditor_finds_the_records_in_the_lists(world, service, route):
    records = records_of(world)
    wanted = {getattr(records, name).case_id for name in LISTED[(service, route)]}

    text = _walk(world, service, route, "auditor")

    assert carried(text, wanted, []) == sorted(wanted)


def test_every_case_list_has_readers_to_find_their_case_in_it():
    assert {(s, r) for s, r, _ in OWN_READS} == set(CASE_LISTS)


@pytest.mark.parametrize(("service", "route", "role"), OWN_READS, ids=cell)
def test_a_reader_finds_the_case_linked_to_it_in_the_lists(world, service, route, role):
    own = records_of(world).own.case_id

    assert carried(_walk(world, service, route, role), {own}, []) == [own]


def test_the_records_carry_every_mark_for_an_auditor(world):
    records = records_of(world)
    timelines = [
        world.get("ledger", f"/cases/{r.case_id}/timeline", "auditor", sub="probe").text
        for r in (records.own, records.other_out)
    ]

    assert carried("\n".join(timelines), set(), list(MARKS.values())) == list(MARKS.values())


# --- bad ids -----------------------------------------------------------------------------

BAD_IDS = {
    "nul": ("%00", 400),
    "nul-in-an-id": (f"{uuid.UUID(int=7)}%00", 400),
    "line-feed": ("%0A", 400),
    "overlong": ("7" * 5000, 422),
    "overlong-uuid": (f"urn:uuid:{uuid.UUID(int=7)}" * 8, 422),
    "not-an-id": ("not-a-case", 422),
}
"""A bad id in a path → the status it gets: control characters are malformed (400), the others
are not an id (422)."""

_IDS = ("case_id", "programme_id", "assessment_id", "referral_id", "instrument_id")
ID_ROUTES = [(s, r) for s, r in NAMING if set(_IDS) & set(path_params(r))]
BAD_READS = [
    (s, r, bad, role) for s, r in ID_ROUTES for bad in BAD_IDS for role in ("auditor", "police")
]


def bad_status(service: str, route: str, role: str, status: int) -> int:
    """The guard refuses a bad case id or a control character before anything else; a bad id
    of another kind is the route's to refuse, once the guard let the role read."""
    if status == 400 or "{case_id}" in route or role in SERVICE_READERS[service]:
        return status
    return 403


@pytest.mark.parametrize(("service", "route", "bad", "role"), BAD_READS, ids=cell)
def test_a_bad_id_is_a_client_error_and_is_audited_as_refused(world, service, route, bad, role):
    text, status = BAD_IDS[bad]
    ids = {**read_ids(world, "own"), **dict.fromkeys(_IDS, text)}
    user = user_of(role)

    response = world.get(service, route.format(**ids), role, sub=user, agency=READ_AGENCY)

    assert response.status_code == bad_status(service, route, role, status), response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    [entry] = world.audit(service, actor=user)
    assert (entry["route"], entry["case_id"], entry["outcome"]) == (
        f"GET {route}",
        None,
        f"refused:{response.status_code}",
    )


BAD_QUERIES = [
    *[(s, "/audit", "auditor", "case_id=%00", 400) for s in READ_SERVICES],
    *[(s, "/audit", "auditor", "case_id=not-a-case", 422) for s in READ_SERVICES],
    ("intake", "/cases", "prison_registry", "facility=%00", 400),
    ("judicial", "/deadlines", "prison_director", "facility=Bamako%00", 400),
    ("assessment", "/reviews", "prison_director", "facility=%0D%0A", 400),
    ("programmes", "/cases", "civil_society", "released=%00", 400),
    ("ledger", "/events", "civil_society", "after=%00", 400),
]
"""A bad value in a query → its status: control characters are malformed (400); an id that is
not one is not an id (422)."""


@pytest.mark.parametrize(("service", "route", "role", "query", "status"), BAD_QUERIES, ids=cell)
def test_a_bad_query_is_a_client_error_and_is_audited_as_refused(
    world, service, route, role, query, status
):
    user = user_of(role)

    response = world.get(service, f"{route}?{query}", role, sub=user, agency=READ_AGENCY)

    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/problem+json")
    [entry] = world.audit(service, actor=user)
    assert (entry["route"], entry["outcome"]) == (f"GET {route}", f"refused:{status}")


@pytest.mark.parametrize("service", READ_SERVICES)
def test_the_read_audit_finds_the_reads_of_a_case_by_any_spelling_of_its_id(world, service):
    case_id = records_of(world).own.case_id
    route = "/cases/{case_id}" + ("/timeline" if service == "ledger" else "")
    reader = user_of("auditor")
    read = world.get(service, route.format(case_id=case_id.upper()), "auditor", sub=reader)
    assert read.status_code == 200, read.text

    answers = {
        spelling: world.clients[service].get(
            "/audit",
            params={"case_id": spell(case_id), "actor": reader},
            headers=world.headers("auditor", sub="inspector"),
        )
        for spelling, spell in SPELLINGS.items()
    }

    for answer in answers.values():
        assert answer.status_code == 200, answer.text
        found = [(e["route"], e["case_id"]) for e in answer.json()["entries"]]
        assert found == [(f"GET {route}", case_id)]
