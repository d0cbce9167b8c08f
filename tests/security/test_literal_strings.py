"""Strings full of SQL, markup and line breaks are stored and returned literally, in the service
and in the ledger; control characters that cannot be stored faithfully are refused, never mangled.
"""

from __future__ import annotations

import pytest

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from tests.support import arrest_payload, auth, eventually, running

HOSTILE_NAME = "Robert'); DROP TABLE intake.intake_events;-- <script>alert('x')</script> «Ağ»"
HOSTILE_GROUNDS = (
    "Line one\n\tLine two with ${jndi:ldap://x} and {{7*7}} and \\u0000 as text\r\nend"
)


def test_sql_markup_and_line_breaks_come_back_exactly_as_sent(settings):
    body = arrest_payload(grounds=HOSTILE_GROUNDS)
    body["person"] = {
        **body["person"],
        "full_name": HOSTILE_NAME,
        "aliases": ["<b>alias</b>", "a\tb"],
    }
    auditor = {**auth(settings, "auditor"), "Caseline-Purpose": "robustness"}
    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        case_id = intake.post("/cases", json=body, headers=auth(settings, "police")).json()[
            "case_id"
        ]

        view = intake.get(f"/cases/{case_id}", headers=auditor).json()
        listed = intake.get("/cases", headers=auditor).json()["items"]
        entry = eventually(
            lambda: (
                (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
                and r.json()["entries"][0]
            )
        )

    assert view["person"]["full_name"] == HOSTILE_NAME
    assert view["person"]["aliases"] == ["<b>alias</b>", "a\tb"]
    assert view["arrest"]["grounds"] == HOSTILE_GROUNDS
    assert [i["full_name"] for i in listed] == [HOSTILE_NAME]
    assert entry["event"]["data"]["person"]["full_name"] == HOSTILE_NAME
    assert entry["event"]["data"]["grounds"] == HOSTILE_GROUNDS


@pytest.mark.parametrize("bad", ["nul\x00byte", "escape\x1b[31mred", "bell\x07"])
def test_control_characters_that_cannot_be_kept_faithfully_are_refused_with_the_field_named(
    settings, bad
):
    with running(intake_app(settings)) as intake:
        response = intake.post(
            "/cases", json=arrest_payload(location=bad), headers=auth(settings, "police")
        )
        total = intake.get("/cases", headers=auth(settings, "auditor")).json()["total"]

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "location"
    assert total == 0
