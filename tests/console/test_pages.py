"""The console's files as the ledger serves them: no token, no outside asset, a small weight."""

from __future__ import annotations

import re

import pytest

from services.ledger.service import create_app as ledger_app
from shared.kit.settings import Settings
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


PAGES = {
    "stats": (
        "/console/stats",
        "/console/stats.js",
        "/console/console.css",
        "/console/messages/fr.json",
    ),
    "registry": (
        "/console/registry",
        "/console/registry.js",
        "/console/console.css",
        "/console/messages/fr.json",
    ),
}


@pytest.mark.parametrize("name", sorted(PAGES))
def test_the_statistics_and_registry_pages_load_within_the_budget(settings, name):
    with running(ledger_app(settings)) as client:
        answers = [client.get(path) for path in PAGES[name]]

    assert [a.status_code for a in answers] == [200] * len(PAGES[name])
    weight = sum(len(a.content) for a in answers)
    assert weight <= BUDGET, f"the {name} page weighs {weight} bytes, over {BUDGET}"
    # The case page's verifier is not loaded where it is not used.
    assert "CaselineVerify" not in answers[1].text


def test_the_pages_connect_to_the_ledger_and_the_configured_services_only(settings):
    configured = settings.model_copy(
        update={
            "service_urls": "intake=http://intake:8001,judicial=http://judicial:8003,"
            "assessment=http://assessment:8002",
            "console_service_urls": "intake=https://intake.example:8443/,"
            "judicial=https://judicial.example",
        }
    )
    with running(ledger_app(configured)) as client:
        config = client.get("/console/config.json").json()
        policy = client.get("/console/registry").headers["content-security-policy"]
    with running(ledger_app(settings)) as client:
        bare = client.get("/console/config.json").json()

    assert config == {
        "services": {
            "intake": "https://intake.example:8443",
            "judicial": "https://judicial.example",
        }
    }
    assert "connect-src 'self' https://intake.example:8443 https://judicial.example;" in policy
    assert bare == {"services": {}}


@pytest.mark.parametrize("origin", ["*", "https://console.example/path", "console.example", "null"])
def test_the_consoles_origin_is_one_origin(origin):
    with pytest.raises(ValueError, match="one origin"):
        Settings(console_origin=origin)
