"""Re-arrest over intake, judicial and the ledger: a person released on a court's order and
arrested again months later under another spelling, in Arabic script, is proposed as a
candidate; once two people (an officer of the arresting agency, a judge) link the cases,
`GET /stats` counts the person once and the release as followed by a re-arrest within 12 months;
once two people undo the link, the re-arrest is gone.

The arrests are in 2025 and the statistics are asked for 2025 as a year: the 12-month window of a
release on 3 March 2025 has elapsed by now, so the release is followed.
"""

from __future__ import annotations

from typing import Any

import pytest

from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from services.ledger.service import create_app as ledger_app
from tests.support import (
    OUSMANE_ARABIC,
    OUSMANE_LATIN,
    TEST_FACILITY,
    admission_payload,
    arrest_payload,
    auth,
    eventually,
    running,
)

LATIN, ARABIC = OUSMANE_LATIN, OUSMANE_ARABIC
YEAR = {"period": "year", "from": "2025-01-01", "to": "2025-12-31"}
PURPOSE = {"Caseline-Purpose": "re-arrest monitoring"}
LINK_CONFIRMED = "caseline.intake.PersonLinkConfirmed.v1"


@pytest.fixture
def settings(settings_factory):
    """Every count is published: the population is one person (the threshold is tested in
    tests/ledger/test_statistics.py)."""
    return settings_factory(stats_min_cell=1)


def _figure(stats: dict[str, Any], name: str, facility: str | None = None) -> Any:
    [indicator] = [i for i in stats["indicators"] if i["name"] == name]
    [cell] = [c for c in indicator["cells"] if (c["facility"], c["period"]) == (facility, None)]
    assert not cell["suppressed"]
    return cell["value"]


def _figures(stats: dict[str, Any]) -> dict[str, Any]:
    names = ("arrests", "persons_arrested", "releases", "releases_followed_12m")
    shown = {name: _figure(stats, name) for name in names}
    shown["rearrested_within_12m"] = _figure(stats, "rearrested_within_12m", TEST_FACILITY)
    return shown


def _arrest(intake: Any, headers: dict[str, str], person: dict[str, Any], at: str) -> Any:
    opened = intake.post(
        "/cases", json=arrest_payload(person=person, arrested_at=at), headers=headers
    )
    assert opened.status_code == 201, opened.text
    return opened.json()


def _entries(ledger: Any, auditor: dict[str, str], case_id: str, kind: str) -> int:
    answer = ledger.get(f"/cases/{case_id}/timeline", headers=auditor)
    if answer.status_code != 200:
        return 0
    return sum(1 for e in answer.json()["entries"] if e["event"]["type"] == kind)


def _four_eyes(intake: Any, case_id: str, body: dict[str, Any], proposer: Any, second: Any) -> Any:
    """A proposal by one person and its confirmation by a second; the confirmation's answer."""
    proposed = intake.post(f"/cases/{case_id}/person-links", json=body, headers=proposer)
    assert proposed.status_code == 201, proposed.text
    link = f"/cases/{case_id}/person-links/{proposed.json()['link_id']}"
    return intake.post(f"{link}/confirmation", headers=second)


def test_a_person_arrested_again_under_another_script_is_counted_once_and_as_rearrested(settings):
    police = auth(settings, "police", sub="police-sevare", agency="ml-pjs")
    colleague = auth(settings, "police", sub="police-mopti", agency="ml-pjs")
    registrar = auth(settings, "prison_registry", sub="registrar-bamako")
    director = auth(settings, "prison_director", sub="director-bamako")
    judge, auditor = auth(settings, "judge"), auth(settings, "auditor")
    reader = {**auditor, **PURPOSE}
    with running(intake_app(settings)) as intake, running(judicial_app(settings)) as judicial, \
            running(ledger_app(settings)) as ledger:  # fmt: skip
        first = _arrest(intake, police, LATIN, "2025-01-10T06:30:00Z")
        first_case = first["case_id"]
        admitted = intake.post(f"/cases/{first_case}/admission", headers=registrar,
                               json=admission_payload(admitted_at="2025-01-12T10:00:00Z"))  # fmt: skip
        assert admitted.status_code == 201, admitted.text
        eventually(lambda: judicial.get(f"/cases/{first_case}", headers=auditor).status_code == 200)
        order = judicial.post(f"/cases/{first_case}/release-orders", headers=judge,
                              json={"kind": "bail", "effective_at": "2025-03-01T09:00:00Z",
                                    "conditions": []})  # fmt: skip
        assert order.status_code == 201, order.text
        release = {"released_at": "2025-03-03T10:00:00Z",
                   "release_order_id": order.json()["release_order_id"]}  # fmt: skip
        eventually(lambda: intake.post(f"/cases/{first_case}/release", json=release,
                                       headers=registrar).status_code == 201)  # fmt: skip

        second = _arrest(intake, police, ARABIC, "2025-09-15T05:00:00Z")
        second_case = second["case_id"]
        admitted = intake.post(f"/cases/{second_case}/admission", headers=registrar,
                               json=admission_payload(admitted_at="2025-09-17T10:00:00Z"))  # fmt: skip
        assert admitted.status_code == 201, admitted.text
        eventually(
            lambda: _entries(ledger, auditor, first_case, "caseline.intake.DetaineeReleased.v1")
        )
        eventually(
            lambda: _entries(ledger, auditor, second_case, "caseline.intake.DetaineeAdmitted.v1")
        )
        unlinked = _figures(ledger.get("/stats", params=YEAR, headers=reader).json())

        candidate = next(c for c in second["candidates"] if c["person_id"] == first["person_id"])
        link = {"kind": "link", "person_id": first["person_id"], "match_reasons": candidate["reasons"],
                "reason": "Same name in Arabic script, same father"}  # fmt: skip
        # The arresting agency proposes: it sees both cases (a facility sees only the persons it
        # holds now, and the first case's person was released); a judge confirms.
        linked = _four_eyes(intake, second_case, link, police, judge)
        eventually(lambda: _entries(ledger, auditor, second_case, LINK_CONFIRMED) == 1)
        counted_once = _figures(ledger.get("/stats", params=YEAR, headers=reader).json())

        unlink = {"kind": "unlink", "reason": "Not the same person: the father's village differs"}
        undone = _four_eyes(intake, second_case, unlink, colleague, director)
        eventually(lambda: _entries(ledger, auditor, second_case, LINK_CONFIRMED) == 2)
        after_unlink = _figures(ledger.get("/stats", params=YEAR, headers=reader).json())
        names = intake.get(f"/cases/{second_case}", headers=auditor).json()["person_id"]

    assert first["person_id"] != second["person_id"]
    assert candidate["score"] >= 0.7
    assert candidate["reasons"]
    assert candidate["cases"] == [{"case_id": first_case}]
    assert unlinked == {"arrests": 2, "persons_arrested": 2, "releases": 1,
                        "releases_followed_12m": 1, "rearrested_within_12m": 0}  # fmt: skip
    assert linked.status_code == 201, linked.text
    assert counted_once == {"arrests": 2, "persons_arrested": 1, "releases": 1,
                            "releases_followed_12m": 1, "rearrested_within_12m": 1}  # fmt: skip
    assert undone.status_code == 201, undone.text
    assert names == second["person_id"]
    assert after_unlink == unlinked
