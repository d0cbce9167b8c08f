"""Intake's HTTP routes: translation between HTTP and `IntakeApplication`, nothing else."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.intake import queries
from services.intake.application import IntakeApplication
from services.intake.requests import (
    ArrestRequest,
    CustodyRequest,
    ErasureConfirmation,
    ErasureRequest,
    LinkProposal,
    LinkRejection,
)
from services.intake.views import identity_of
from shared.events.intake import (
    ArrestRecorded,
    CustodyExtended,
    CustodyStarted,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    EvidenceLogged,
    FamilyContactRecorded,
    PersonalDataErased,
    PersonLinkConfirmed,
    PersonLinkProposed,
    PersonLinkRejected,
)
from shared.events.voiding import IntakeEntryVoided
from shared.kit.access import CallerScope
from shared.kit.audit import PURPOSE_HEADER
from shared.kit.auth import CurrentUser
from shared.kit.commands import Command, route_command, view_response
from shared.kit.errors import ForbiddenError
from shared.kit.names import Identity, parse_birth
from shared.kit.paging import Paged
from shared.kit.params import query_text
from shared.kit.redaction import redact_view
from shared.kit.requests import VoidRequest
from shared.kit.runtime import RECORDED, application
from shared.kit.scope import require_own_facility, scope_of
from shared.permissions import PERSON_SEARCHERS

__all__ = ["routers"]

IntakeApp = Annotated[IntakeApplication, Depends(application)]
IntakeCommand = Annotated[Command[IntakeApplication], Depends(route_command)]

cases = APIRouter(prefix="/cases", tags=["cases"])
entries = APIRouter(prefix="/entries", tags=["corrections"])
persons = APIRouter(prefix="/persons", tags=["persons"])


@cases.post("", status_code=201, responses=RECORDED)
def record_arrest(body: ArrestRequest, command: IntakeCommand, request: Request) -> JSONResponse:
    """Record an arrest; this opens a new case of a new person and returns its `case_id` and
    `person_id`, with `candidates`: the persons already known who may be the same (to link by
    four eyes, never automatically) among those with a case the caller may see, each with those
    cases, and `similar_elsewhere`: whether a person the caller may not see scored too."""
    data = ArrestRecorded.model_validate(body.model_dump())
    answer = command.run(ArrestRecorded, lambda c: command.app.record_arrest(data, c))
    if answer.status_code != 201:
        return answer
    recorded = json.loads(bytes(answer.body))
    identity = identity_of(data.person)
    own = recorded.get("person_id")
    sight = queries.PersonSight(command.app, command.ctx.scope or scope_of(command.user))
    matches = (
        queries.find_persons(
            command.app, identity, leave_out=UUID(own) if own else None, sight=sight
        )
        if identity is not None
        else []
    )
    found = queries.candidates(matches, sight)
    shown = sorted({c["case_id"] for m in found["candidates"] for c in m["cases"]})
    audit = request.app.state.parts.audit
    if shown and audit is not None:
        # The candidates' cases are read: audited as a read would be, under the arrest's case.
        purpose = (request.headers.get(PURPOSE_HEADER) or "").strip()[:500] or "arrest candidates"
        audit.record(command.user, recorded["case_id"], "POST /cases", purpose, "allowed", shown)
    return JSONResponse(
        {**recorded, **found},
        status_code=201,
        headers={k: v for k, v in answer.headers.items() if k in _KEPT_HEADERS},
    )


_KEPT_HEADERS = ("location", "etag", "idempotent-replayed")


@cases.post("/{case_id}/person-links", status_code=201, responses=RECORDED)
def propose_person_link(case_id: UUID, body: LinkProposal, command: IntakeCommand) -> JSONResponse:
    """Propose the person the case names (a link to a candidate, or an unlink back to the case's
    own person); answers the new `link_id`. Nothing changes until a second person confirms."""
    return command.run(
        PersonLinkProposed,
        lambda c: command.app.propose_link(
            case_id, body.kind, body.person_id, body.reason, body.match_reasons, c
        ),
    )


@cases.post("/{case_id}/person-links/{link_id}/confirmation", status_code=201, responses=RECORDED)
def confirm_person_link(case_id: UUID, link_id: UUID, command: IntakeCommand) -> JSONResponse:
    """Confirm a proposed link, as a second person (409 for its proposer): the case names the
    link's person from now on."""
    return command.run(PersonLinkConfirmed, lambda c: command.app.confirm_link(case_id, link_id, c))


@cases.post("/{case_id}/person-links/{link_id}/rejection", status_code=201, responses=RECORDED)
def reject_person_link(
    case_id: UUID, link_id: UUID, body: LinkRejection, command: IntakeCommand
) -> JSONResponse:
    """Reject a proposed link (its proposer may withdraw it so): nothing changes."""
    return command.run(
        PersonLinkRejected,
        lambda c: command.app.reject_link(case_id, link_id, body.reason, c),
    )


@cases.post("/{case_id}/custody", status_code=201, responses=RECORDED)
def start_custody(case_id: UUID, body: CustodyRequest, command: IntakeCommand) -> JSONResponse:
    """Record that police custody (garde à vue) began; its legal limit comes from the rules."""
    fields = body.model_dump(exclude={"regime"})
    return command.run(
        CustodyStarted, lambda c: command.app.start_custody(case_id, fields, body.regime, c)
    )


@cases.post("/{case_id}/custody/extensions", status_code=201, responses=RECORDED)
def extend_custody(case_id: UUID, body: CustodyExtended, command: IntakeCommand) -> JSONResponse:
    """Record an authorised extension of custody, within the jurisdiction's limits."""
    return command.run(CustodyExtended, lambda c: command.app.extend_custody(case_id, body, c))


@cases.post("/{case_id}/evidence", status_code=201, responses=RECORDED)
def log_evidence(case_id: UUID, body: EvidenceLogged, command: IntakeCommand) -> JSONResponse:
    """Log an item of evidence collected, or handed over by the one who held it."""
    return command.run(EvidenceLogged, lambda c: command.app.log_evidence(case_id, body, c))


@cases.post("/{case_id}/transfers", status_code=201, responses=RECORDED)
def transfer(case_id: UUID, body: DetaineeTransferred, command: IntakeCommand) -> JSONResponse:
    """Record a move between places of detention."""
    return command.run(DetaineeTransferred, lambda c: command.app.transfer(case_id, body, c))


@cases.post("/{case_id}/admission", status_code=201, responses=RECORDED)
def admit(case_id: UUID, body: DetaineeAdmitted, command: IntakeCommand) -> JSONResponse:
    """Record the person's admission to a prison (Mandela Rule 7 record)."""
    command.require(DetaineeAdmitted)
    require_own_facility(command.user, body.facility)
    return command.run(DetaineeAdmitted, lambda c: command.app.admit(case_id, body, c))


@cases.post("/{case_id}/family-contacts", status_code=201, responses=RECORDED)
def record_family_contact(
    case_id: UUID, body: FamilyContactRecorded, command: IntakeCommand
) -> JSONResponse:
    """Record a visit, call or letter between the detainee and family."""
    return command.run(
        FamilyContactRecorded, lambda c: command.app.record_family_contact(case_id, body, c)
    )


@cases.post("/{case_id}/erasure-requests", status_code=201, responses=RECORDED)
def request_erasure(case_id: UUID, body: ErasureRequest, command: IntakeCommand) -> JSONResponse:
    """Ask to execute a judicial erasure order once the person is released (first of four eyes;
    nothing is erased until a second person confirms)."""
    return command.run(
        PersonalDataErased,
        lambda c: command.app.request_erasure(case_id, body.erasure_order_id, body.reason, c),
    )


@cases.post("/{case_id}/erasure", status_code=201, responses=RECORDED)
def erase_personal_data(
    case_id: UUID, body: ErasureConfirmation, command: IntakeCommand
) -> JSONResponse:
    """Confirm a pending erasure request, as a second person: the erasure is recorded, then the
    case's key destroyed, erasing its personal data everywhere (final)."""
    return command.run(
        PersonalDataErased,
        lambda c: command.app.erase_personal_data(case_id, body.erasure_order_id, c),
    )


@cases.post("/{case_id}/release", status_code=201, responses=RECORDED)
def release(case_id: UUID, body: DetaineeReleased, command: IntakeCommand) -> JSONResponse:
    """Record that the person left custody under a release order from judicial (409 without one)."""
    return command.run(DetaineeReleased, lambda c: command.app.release(case_id, body, c))


@entries.post("/{event_id}/void", status_code=201, responses=RECORDED)
def void_entry(event_id: UUID, body: VoidRequest, command: IntakeCommand) -> JSONResponse:
    """Void a mistaken intake entry (it stays on record, linked); by its recording agency."""
    return command.run(IntakeEntryVoided, lambda c: command.app.void(event_id, body.reason, c))


@cases.get("", response_model_exclude_unset=True)
def list_cases(
    app: IntakeApp,
    user: CurrentUser,
    scope: CallerScope,
    page: Paged,
    facility: Annotated[str | None, query_text(200)] = None,
) -> queries.CasePage:
    """The cases, newest arrest first, a page at a time."""
    # Unset keys stay out: a former detainee's history entry has only its own four.
    answer = queries.list_cases(app, page.limit, page.offset, facility, scope=scope)
    return queries.CasePage.model_validate(answer)


@cases.get("/{case_id}")
def get_case(case_id: UUID, app: IntakeApp, user: CurrentUser) -> JSONResponse:
    """Intake's current view of one case, with its `version` (also the `ETag`)."""
    view, version = queries.case_view(app, case_id)
    return view_response(redact_view(view, user.role, queries.CASE_VIEW_SOURCES), version)


@persons.get("")
def search_persons(
    app: IntakeApp,
    user: CurrentUser,
    scope: CallerScope,
    name: Annotated[str, query_text(200)],
    birth: Annotated[str | None, query_text(40)] = None,
    father: Annotated[str | None, query_text(200)] = None,
    mother: Annotated[str | None, query_text(200)] = None,
) -> dict[str, Any]:
    """The persons who may be the one described (a name; a birth date or year, e.g. `1987`,
    `12/03/1987`, `vers 1985`; the parents' names), best first, without names, among those with
    a case the caller may see: each with its score, the reasons in words and those cases
    (audited); `similar_elsewhere` says whether a person the caller may not see scored too."""
    if user.role not in PERSON_SEARCHERS:
        raise ForbiddenError("role {role!r} may not search the person registry", role=user.role)
    identity = Identity(name=name, birth=parse_birth(birth), father=father, mother=mother)
    sight = queries.PersonSight(app, scope)
    return queries.candidates(queries.find_persons(app, identity, sight=sight), sight)


routers = [cases, entries, persons]
