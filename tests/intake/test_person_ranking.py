"""The registry's table ranks as the blind index's reference does: the same persons, in the same
order, with the same scores and reasons, for registrars' records of people arrested before under
other spellings (the database gathers and ranks; `shared.kit.names.BlindIndex` is the reference
the name-matching bench measures)."""

from __future__ import annotations

import random
from datetime import date
from types import SimpleNamespace
from typing import Any

from services.intake import queries
from services.intake.service import create_app as intake_app
from services.intake.views import PersonIndex, identity_of
from shared.kit.names import Birth, BlindIndex, Identity
from tests.kit.name_variants import persons, written
from tests.support import arrest_payload, auth, running


def _person_body(identity: Identity) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": identity.name,
        "sex": "male",
        "nationality": "Mali",
        "languages": ["French"],
    }
    birth = identity.birth
    if birth is not None:
        exact = birth.month is not None and birth.day is not None and not birth.estimated
        month, day = (birth.month, birth.day) if exact else (1, 1)
        body["date_of_birth"] = f"{birth.year:04d}-{month:02d}-{day:02d}"
        body["date_of_birth_estimated"] = not exact
    if identity.father:
        body["father_name"] = identity.father
    if identity.mother:
        body["mother_name"] = identity.mother
    return body


def _as_indexed(body: dict[str, Any]) -> Identity:
    """The identity intake indexes for an arrest's person (what `identity_of` reads)."""
    born = body.get("date_of_birth")
    person = SimpleNamespace(
        full_name=body["full_name"],
        date_of_birth=date.fromisoformat(born) if born else None,
        date_of_birth_estimated=body.get("date_of_birth_estimated", False),
        father_name=body.get("father_name"),
        mother_name=body.get("mother_name"),
        aliases=[],
    )
    identity = identity_of(person)
    assert identity is not None
    return identity


def test_the_table_ranks_as_the_reference_index(settings: Any) -> None:
    rng = random.Random(11)
    people = persons(40, seed=5)
    officer = auth(settings, "police", agency="ml-pjs")
    with running(intake_app(settings)) as intake:
        app = intake.app.state.parts.application
        reference = BlindIndex(app.view_object(PersonIndex).key)
        for person in people:
            body = _person_body(written(person, rng))
            opened = intake.post("/cases", json=arrest_payload(person=body), headers=officer)
            assert opened.status_code == 201, opened.text
            reference.add(opened.json()["person_id"], _as_indexed(body))
        searches = [written(rng.choice(people), rng) for _ in range(30)]
        searches.append(Identity("Stranger Nobody", Birth(1990), None, None))
        found = [queries.find_persons(app, identity) for identity in searches]

    expected = [
        reference.search(identity, limit=5, threshold=queries.THRESHOLD) for identity in searches
    ]
    assert any(matches for matches in found)  # the records do find people
    for got, want in zip(found, expected, strict=True):
        assert [(m.person_id, m.score, m.reasons) for m in got] == [
            (m.person_id, m.score, m.reasons) for m in want
        ]
