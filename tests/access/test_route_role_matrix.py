"""Every route of every event-sourced service, for every role, against the permission table:
a command is recorded for the roles that may record its event and refused (403, nothing recorded)
to the others; a read of a case linked to the reader's agency, facility or organisation answers
the service's readers and refuses the others (403, or 404 for a sealed case), and every read,
allowed or refused, is in the service's read audit as such. (`test_hostile_matrix` reads every
route for cases of every kind, in every spelling.)
"""

from __future__ import annotations

import uuid

import pytest

from shared.permissions import COMMAND_ROLES, ROLES, VOID_SUPERVISORS
from tests.access.commands import (
    RULE_REFUSED,
    VOID_ROUTE,
    VOIDS,
    allowed,
    attempt,
    coverage_gaps,
    refusal_attempt,
    void_of,
)
from tests.access.reads import (
    READ_AGENCY,
    audited_outcome,
    expected_read,
    read_ids,
    required_query,
)
from tests.access.routes import COMMAND_ROUTES, READ_ROUTES, READ_SERVICES, SERVICES

ROLE_ORDER = sorted(ROLES)

ALLOWED = [(s, r, role) for s in SERVICES for r in COMMAND_ROUTES[s] for role in allowed(s, r)]
REFUSED = [
    (s, r, role)
    for s in SERVICES
    for r in COMMAND_ROUTES[s]
    for role in ROLE_ORDER
    if role not in allowed(s, r)
]
CROSS_VOIDS = sorted(
    {
        (s, entry_type, voider)
        for s in SERVICES
        for entry_type, _ in VOIDS[s].values()
        for voider in allowed(s, VOID_ROUTE)
        if voider not in COMMAND_ROLES[f"caseline.{s}.{entry_type}.v1"]
        and voider not in VOID_SUPERVISORS.get(f"caseline.{s}.{entry_type}.v1", frozenset())
    }
)
UNSEEN_VOIDS = frozenset(
    {
        *(("intake", "CustodyExtended", r) for r in ("prison_registry", "prison_director")),
        # An erasure is recorded only after the release: the person is no prison's any more.
        *(("intake", "PersonalDataErased", r) for r in ("prison_registry", "prison_director")),
        *(("programmes", "ReferralMade", r) for r in ("civil_society", "religious_counsellor")),
    }
)
"""Cross voidings of an entry on a case the voider may not see, refused as if it did not exist
(404): a running custody is no prison's yet, and a referral a ministry made to another
organisation is not its referrer's organisation's person."""
READS = [(s, r, role) for s in READ_SERVICES for r in READ_ROUTES[s] for role in ROLE_ORDER]
SEALED_READS = [(s, r, role) for s, r, role in READS if "{case_id}" in r]


def cell(value: object) -> str:
    return str(value).strip("/").replace("/", ".").replace("{", "").replace("}", "") or "root"


# --- commands ----------------------------------------------------------------------------


def test_the_matrix_has_a_state_for_every_command_route_and_every_voiding_role():
    assert coverage_gaps() == []


@pytest.mark.parametrize(("service", "route", "role"), ALLOWED, ids=cell)
def test_a_role_the_table_allows_has_its_command_recorded(world, service, route, role):
    command = attempt(world, service, route, role)
    before = command.probe()

    response = world.send(command, role)

    if command.expect == RULE_REFUSED:
        assert response.status_code in (404, 409), response.text
        assert command.probe() == before
    else:
        assert response.status_code == command.expect, response.text
        assert command.probe() != before


@pytest.mark.parametrize(("service", "route", "role"), REFUSED, ids=cell)
def test_a_role_the_table_does_not_allow_is_refused_and_nothing_is_recorded(
    world, service, route, role
):
    command = refusal_attempt(world, service, route)
    before = command.probe()

    response = world.send(command, role)

    assert response.status_code == 403, response.text
    assert response.json()["type"].endswith("/forbidden")
    assert command.probe() == before


@pytest.mark.parametrize(("service", "entry_type", "voider"), CROSS_VOIDS, ids=cell)
def test_voiding_an_entry_of_a_type_the_role_may_not_record_is_refused(
    world, service, entry_type, voider
):
    key = ("cross", service, entry_type)
    if key not in world.shared:
        record = next(r for t, r in VOIDS[service].values() if t == entry_type)
        world.shared[key] = void_of(world, service, record(world))
    voiding = world.shared[key]
    before = voiding.probe()

    response = world.send(voiding, voider)

    unseen = (service, entry_type, voider) in UNSEEN_VOIDS
    assert response.status_code == (404 if unseen else 403), response.text
    assert voiding.probe() == before


# --- reads -------------------------------------------------------------------------------


def read(world, service, route, role, kind):
    """Read `route` as `role` (a user of their own, of the agency and facility the `own` case is
    linked to) for a case of `kind`; the answer and that user's audit entries."""
    ids = read_ids(world, kind)
    user = f"{role}-{uuid.uuid4().hex[:8]}"
    path, query = route.format(**ids), required_query(world, service, route)
    response = world.clients[service].get(
        path, params=query, headers=world.headers(role, sub=user, agency=READ_AGENCY)
    )
    entries = world.audit(service, actor=user)
    return response, entries, ids


def audited_as(entries, route, case_id):
    assert [(e["route"], e["case_id"]) for e in entries] == [(f"GET {route}", case_id)]
    return entries[0]["outcome"]


@pytest.mark.parametrize(("service", "route", "role"), READS, ids=cell)
def test_a_read_answers_the_roles_the_table_allows_and_audits_the_answer(
    world, service, route, role
):
    response, entries, ids = read(world, service, route, role, "own")

    expected = expected_read(service, route, role, "own")
    assert response.status_code == expected, response.text
    outcome = audited_as(entries, route, ids["case_id"] if "{case_id}" in route else None)
    assert outcome == audited_outcome(expected)


@pytest.mark.parametrize(("service", "route", "role"), SEALED_READS, ids=cell)
def test_a_sealed_case_is_read_only_by_auditors_and_judges_and_refusals_are_audited(
    world, service, route, role
):
    response, entries, ids = read(world, service, route, role, "sealed")

    expected = expected_read(service, route, role, "sealed")
    assert response.status_code == expected, response.text
    assert audited_as(entries, route, ids["case_id"]) == audited_outcome(expected)


ROUTE_REFUSALS = [
    *[(s, r, "admin", READ_AGENCY, 403) for s in SERVICES for r in ("/audit", "/audit/verify")],
    ("judicial", "/deadlines", "assessor", READ_AGENCY, 403),
    ("programmes", "/cases/{case_id}", "civil_society", "ONG sans lien", 404),
    ("programmes", "/cases/{case_id}/referrals/{referral_id}", "judge", "Parquet", 404),
]
"""Reads the guard lets through and the route then refuses: by role (the auditors' audit, the
judicial deadlines) or by agency (civil society's people, a referral's two agencies)."""


@pytest.mark.parametrize(("service", "route", "role", "agency", "status"), ROUTE_REFUSALS, ids=cell)
def test_a_read_refused_by_the_route_itself_is_audited_as_refused(
    world, service, route, role, agency, status
):
    ids = read_ids(world, "own")
    user = f"{role}-{uuid.uuid4().hex[:8]}"

    response = world.get(service, route.format(**ids), role, sub=user, agency=agency)

    assert response.status_code == status, response.text
    [entry] = world.audit(service, actor=user)
    assert entry["outcome"] == f"refused:{status}"
