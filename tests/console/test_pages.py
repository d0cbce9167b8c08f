"""The console's files as the ledger serves them: no token, no outside asset, a small weight."""

from __future__ import annotations

import re

from services.ledger.service import create_app as ledger_app
from tests.support import running

BUDGET = 150 * 1024
"""The first load's uncompressed bytes: page, script, style and the French catalogue."""
FIRST_LOAD = ("/console", "/console/app.js", "/console/console.css", "/console/messages/fr.json")


def test_the_console_loads_within_its_budget_with_no_token(settings):
    with running(ledger_app(settings)) as client:
        answers = [client.get(path) for path in FIRST_LOAD]

    assert [a.status_code for a in answers] == [200] * len(FIRST_LOAD)
    weight = sum(len(a.content) for a in answers)
    assert weight <= BUDGET, f"the first load weighs {weight} bytes, over {BUDGET}"


def test_the_console_names_no_outside_asset(settings):
    with running(ledger_app(settings)) as client:
        bodies = [client.get(p).text for p in (*FIRST_LOAD, "/console/bundle-viewer.html")]
        policy = client.get("/console").headers["content-security-policy"]

    assert not [b for b in bodies if re.search(r"(src|href)=\"(https?:)?//", b)]
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy


def test_an_unchanged_console_file_is_answered_304(settings):
    with running(ledger_app(settings)) as client:
        first = client.get("/console/app.js")
        again = client.get("/console/app.js", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert not again.content


def test_the_bundle_viewer_is_one_file_with_its_scripts_and_languages(settings):
    with running(ledger_app(settings)) as client:
        viewer = client.get("/console/bundle-viewer.html")

    assert viewer.status_code == 200
    assert "/*CASELINE:" not in viewer.text
    assert "CaselineVerify" in viewer.text
    assert "العربية" in viewer.text
    assert not re.search(r"<(script|link)[^>]+(src|href)=", viewer.text)
