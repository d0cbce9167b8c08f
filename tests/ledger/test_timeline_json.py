"""The timeline written straight to JSON bytes shows each role exactly what `visible_entries` shows:
the same entries, revealed, erased and redacted alike, whether or not an entry has personal data.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from services.ledger.application import LedgerApplication
from services.ledger.service import create_app
from services.ledger.store import Appendable
from services.ledger.visibility import timeline_json, visible_entries, visible_types
from shared.events import CatalogueEvent, build_envelope
from shared.events.intake import (
    ArrestRecorded,
    DetaineeAdmitted,
    EvidenceLogged,
    FamilyContactRecorded,
)
from shared.events.personal import seal
from shared.kit.auth import User
from shared.permissions import ROLES
from tests.support import admission_payload, arrest_payload, auth, running
from tests.support.bus import signed_document
from tests.support.ledger import BASE_TIME


def _sealed(ledger: LedgerApplication, event: CatalogueEvent, case_id: UUID, n: int) -> Appendable:
    """The envelope as intake publishes it: personal fields sealed under the case's key."""
    at, event_id = BASE_TIME + timedelta(hours=n), uuid4()
    sealed = seal(event, str(case_id), str(event_id), ledger.cipher)
    env = build_envelope(
        sealed.data, event_id=event_id, subject=case_id, actor="clerk « Ké »", agency="test",
        recorded_at=at, personaldata=sealed.personaldata,
    )  # fmt: skip
    return Appendable(str(env.id), str(case_id), env.type, at, at, signed_document(env))


def _events() -> list[CatalogueEvent]:
    at = BASE_TIME.isoformat()
    return [
        ArrestRecorded.model_validate(arrest_payload(report_ref="PV-7")),
        DetaineeAdmitted.model_validate(admission_payload()),
        EvidenceLogged.model_validate(
            {
                "item_id": "SCELLE-9",
                "description": 'Carnet — notes "codées" ✓',
                "collected_by": "Adjudant Koné",
                "collected_at": at,
            }
        ),
        FamilyContactRecorded.model_validate(
            {"kind": "visit", "with_whom": "Awa Traoré", "relationship": "sister", "at": at}
        ),
    ]


@pytest.fixture
def ledger(settings) -> Any:
    ledger = LedgerApplication(settings)
    yield ledger
    ledger.close()


@pytest.fixture
def cases(ledger) -> dict[str, UUID]:
    """A case whose key is alive, one whose key was destroyed (its personal data erased)."""
    alive, erased = uuid4(), uuid4()
    items = [_sealed(ledger, e, c, n) for c in (alive, erased) for n, e in enumerate(_events())]
    # An envelope whose `personaldata` is null (shown without it), and an arrest published
    # unsealed: nothing to reveal, but fields to remove for some roles.
    bare = _sealed(ledger, _events()[2], alive, 9)
    items.append(
        Appendable(**{**bare.__dict__, "envelope": {**bare.envelope, "personaldata": None}})
    )
    plain = _sealed(ledger, _events()[2], alive, 10)
    arrest = _events()[0].model_dump(mode="json")
    envelope = {
        **plain.envelope, "type": ArrestRecorded.type_name(), "data": arrest, "personaldata": None,
    }  # fmt: skip
    items.append(Appendable(**{**plain.__dict__, "type": envelope["type"], "envelope": envelope}))
    ledger.store.append(items)
    ledger.cipher.keys.erase(str(erased))
    return {"alive": alive, "erased": erased}


def _both(ledger: LedgerApplication, case_id: str, role: str) -> tuple[Any, Any]:
    user = User(sub=f"{role}-1", agency="agency", role=role)
    stored = ledger.timeline(case_id, visible=visible_types(role))
    as_bytes = json.loads(timeline_json(user, case_id, stored, ledger.cipher))
    dicts = [e.as_dict() for e in ledger.timeline(case_id)]
    return as_bytes, {"case_id": case_id, "entries": visible_entries(user, dicts, ledger.cipher)}


@pytest.mark.parametrize("which", ["alive", "erased"])
def test_every_role_gets_from_the_bytes_what_visible_entries_gives(ledger, cases, which):
    case_id = str(cases[which])
    shown: dict[str, Any] = {}
    for role in sorted(ROLES):
        as_bytes, expected = _both(ledger, case_id, role)
        assert as_bytes == expected, role
        shown[role] = as_bytes["entries"]

    marks = {e["event"].get("personaldata") for e in shown["auditor"]}
    # Every entry of the erased case holds personal data; the alive one has two bare entries too.
    assert marks == ({"revealed", None} if which == "alive" else {"erased"})
    assert {len(entries) for entries in shown.values()} != {len(shown["auditor"])}
    assert any(e["redacted"] for e in shown["civil_society"])
    assert not any("personaldata" in e["event"] for e in shown["auditor"][4:])


def test_the_route_answers_the_bytes(settings, ledger, cases):
    case_id = str(cases["alive"])
    expected, _ = _both(ledger, case_id, "auditor")

    with running(create_app(settings)) as client:
        response = client.get(f"/cases/{case_id}/timeline", headers=auth(settings, "auditor"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected
