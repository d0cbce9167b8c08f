"""The console and the bundle viewer in a real headless browser, against a real ledger."""

from __future__ import annotations

import json
from urllib.parse import urlencode
from uuid import UUID

import pytest

from caseline.bundle import verify_bundle
from services.ledger.application import LedgerApplication
from services.ledger.console_api import bundle_viewer
from services.ledger.service import create_app as ledger_app
from tests.console.conftest import screenshot
from tests.ledger.helpers import fill, tampering
from tests.ledger.rotation import Rotation, forged_bundle
from tests.support import auth, running, serving, token_for

PURPOSE = "audit annuel"


@pytest.fixture
def case(settings) -> UUID:
    """A case of four entries among others', under a signed checkpoint."""
    ledger = LedgerApplication(settings)
    case_id = fill(ledger, cases=3, per_case=4)[1]
    ledger.checkpointer.checkpoint_now()
    ledger.close()
    return case_id


def open_case(page, base: str, settings, case_id: UUID, role: str = "auditor") -> None:
    fragment = urlencode(
        {"token": token_for(settings, role), "case": str(case_id), "purpose": PURPOSE}
    )
    page.goto(f"{base}/console#{fragment}")


def test_an_auditor_sees_the_case_timeline_verified(settings, case, page):
    with serving(ledger_app(settings)) as base:
        open_case(page, base, settings, case)

        page.wait_for_selector("[data-verdict=ok]")
        entries = page.locator("#timeline li.entry")
        verified = page.locator("#timeline li.entry.verified")
        screenshot(page, "console-timeline-verified")
        url = page.url

    assert entries.count() == 4
    assert verified.count() == 4
    assert "#" not in url  # the token left the address bar
    assert page.evaluate("sessionStorage.getItem('caseline.token')")


def test_a_tampered_entry_is_pointed_at_as_the_first_bad_one(settings, case, page):
    with tampering(settings, "entries") as conn:
        seq = conn.execute(
            "SELECT ledger_seq FROM ledger.entries WHERE case_id = %s AND case_seq = 3",
            (str(case),),
        ).fetchone()[0]
        canonical = bytes(
            conn.execute(
                "SELECT canonical FROM ledger.entries WHERE ledger_seq = %s", (seq,)
            ).fetchone()[0]
        )
        forged = canonical.replace(b"Visitor 2", b"Visitor X")
        conn.execute(
            "UPDATE ledger.entries SET canonical = %s WHERE ledger_seq = %s", (forged, seq)
        )

    with serving(ledger_app(settings)) as base:
        open_case(page, base, settings, case)

        page.wait_for_selector("[data-verdict=bad]")
        bad = page.locator("#timeline li.entry.first-bad")
        detail = page.locator("#verdict-detail").inner_text()
        screenshot(page, "console-timeline-tampered")
        bad_seq = bad.get_attribute("data-case-seq")

    assert bad.count() == 1
    assert bad_seq == "3"
    assert page.locator("#timeline li.entry.verified").count() == 2
    assert "L'inscription 3 du dossier" in detail


def test_arabic_lays_the_console_out_right_to_left(settings, case, page):
    with serving(ledger_app(settings)) as base:
        open_case(page, base, settings, case)
        page.wait_for_selector("[data-verdict=ok]")

        page.select_option("#lang", "ar")
        page.wait_for_selector("html[dir=rtl]", state="attached")
        title = page.locator("h1").inner_text()
        badge = page.locator("[data-verdict=ok]").inner_text()
        line = page.locator("#timeline li.entry").first.bounding_box()
        panel = page.locator("#timeline").bounding_box()
        screenshot(page, "console-arabic")

    assert page.evaluate("document.documentElement.lang") == "ar"
    assert title == "وحدة تحكم Caseline"
    assert "تم التحقق" in badge
    # The entry's text starts at the right: its dot sits on the panel's right-hand edge.
    assert abs((line["x"] + line["width"]) - (panel["x"] + panel["width"])) < 2


def test_a_role_without_the_full_record_gets_the_ledgers_own_check(settings, case, page):
    with serving(ledger_app(settings)) as base:
        open_case(page, base, settings, case, role="prosecutor")

        page.wait_for_selector("[data-verdict=unchecked]")
        detail = page.locator("#verdict-detail").inner_text()

    assert "intact (4 inscriptions)" in detail


def test_the_bundle_viewer_verifies_a_bundle_offline(settings, case, page, tmp_path):
    with running(ledger_app(settings)) as client:
        bundle = client.get(f"/cases/{case}/export", headers=auth(settings, "auditor")).content
    viewer = tmp_path / "bundle-viewer.html"
    viewer.write_bytes(bundle_viewer())
    good = tmp_path / "case.bundle.json"
    good.write_bytes(bundle)
    edited = tmp_path / "edited.bundle.json"
    edited.write_bytes(bundle.replace(b'"case_seq":2', b'"case_seq":7', 1))

    page.goto(viewer.as_uri() + "#lang=en")
    page.set_input_files("#file", str(good))
    page.wait_for_selector("[data-verdict=ok]")
    shown = page.locator("#timeline li.entry").count()
    screenshot(page, "bundle-viewer")
    page.set_input_files("#file", str(edited))
    page.wait_for_selector("[data-verdict=bad]")

    assert shown == 4
    # The page and `caseline verify-bundle` name the same first bad entry.
    assert verify_bundle(edited.read_bytes()).first_bad_seq == 2
    assert page.locator("#verdict-detail").inner_text().startswith("Entry 2 of the case")


def test_the_api_docs_render_offline_with_the_bearer_scheme(settings, page):
    outside: list[str] = []
    page.on(
        "request", lambda r: None if r.url.startswith("http://127.0.0.1") else outside.append(r.url)
    )
    with serving(ledger_app(settings)) as base:
        page.goto(f"{base}/docs")

        page.wait_for_selector(".swagger-ui .info")
        authorize = page.locator("button.authorize").count()
        screenshot(page, "docs")

    assert authorize == 1
    assert not outside


def test_the_bundle_viewer_follows_a_key_handover_v2_and_refuses_a_made_up_history(
    settings, page, tmp_path
):
    """A ledger whose key was handed over (v2): the bundle verifies in the page as with
    `caseline verify-bundle`; one the old key signed again over a made-up tree of the size it
    handed over at, or carrying a second handover of it, is refused, the reason said."""
    rotation = Rotation(settings, tmp_path)
    case = rotation.sign(rotation.before, cases=2)[0]
    assert rotation.hand_over() == 0
    with running(ledger_app(rotation.after)) as client:
        raw = client.get(f"/cases/{case}/export", headers=auth(rotation.after, "auditor")).content
    made_up = forged_bundle(raw, rotation.old, 6)
    twice = json.loads(raw)
    twice["key_handovers"].append(rotation.leaked(6).body())
    files = {
        "genuine": raw,
        "made-up": made_up,
        "twice": (json.dumps(twice, sort_keys=True, separators=(",", ":")) + "\n").encode(),
    }
    for name, data in files.items():
        (tmp_path / f"{name}.bundle.json").write_bytes(data)
    viewer = tmp_path / "bundle-viewer.html"
    viewer.write_bytes(bundle_viewer())
    page.goto(viewer.as_uri() + "#lang=en")

    said = {}
    for name in files:
        page.set_input_files("#file", str(tmp_path / f"{name}.bundle.json"))
        verdict = "ok" if name == "genuine" else "bad"
        page.wait_for_selector(f"[data-verdict={verdict}]")
        said[name] = page.locator("#verdict-detail").inner_text()
        if name == "genuine":
            summary = page.locator("body").inner_text()

    assert verify_bundle(raw).ok
    assert said["genuine"].startswith("3 entries: authentic, complete, in order"), said
    assert "Handover v1" not in summary  # a v2: its root is on record
    assert said["made-up"] == (
        f"The record fails: the checkpoint of 6 entries is signed by key {rotation.old.key_id}"
        " with another root than the one its handover names for that size"
    ), said
    assert said["twice"].startswith(
        f"The record fails: key {rotation.old.key_id} is handed over twice, differently"
    ), said
