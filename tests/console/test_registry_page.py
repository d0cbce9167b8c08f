"""The prison registry's page in a real headless browser, against real intake, judicial and
ledger services on their own origins: an admission recorded through the form (intake, reached
across origins) reaches the case's timeline (ledger); a field's problem is shown beside the field;
the facility's overdue deadlines come from judicial; the person registry (intake) is searched and
a person link proposed by one registrar and confirmed by another."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from services.ledger.service import create_app as ledger_app
from shared.kit.clock import Clock
from shared.kit.servers import free_port
from shared.kit.settings import Settings
from tests.console.conftest import screenshot
from tests.judicial.pathway import Stack
from tests.support import TEST_FACILITY, arrest_payload, serving, token_for

PURPOSE = "greffe : écrou"


@dataclass
class Origins:
    settings: Settings
    ledger: str
    intake: str
    judicial: str
    stack: Stack


@pytest.fixture
def origins(settings) -> Iterator[Origins]:
    """The three services on three origins; intake and judicial let the ledger's console in."""
    ledger_port, intake_port, judicial_port = free_port(), free_port(), free_port()
    ledger, intake, judicial = (
        f"http://127.0.0.1:{p}" for p in (ledger_port, intake_port, judicial_port)
    )
    configured = settings.model_copy(
        update={
            "console_origin": ledger,
            "console_service_urls": f"intake={intake},judicial={judicial}",
        }
    )
    with (
        serving(intake_app(configured), intake_port),
        serving(judicial_app(configured), judicial_port),
        serving(ledger_app(configured), ledger_port),
        httpx.Client(base_url=intake, timeout=30) as intake_client,
        httpx.Client(base_url=judicial, timeout=30) as judicial_client,
    ):
        stack = Stack(configured, Clock(), intake_client, judicial_client)
        yield Origins(configured, ledger, intake, judicial, stack)


def overdue_in_facility(stack: Stack) -> str:
    """A case detained in the tests' prison on an order 370 days old, never renewed."""
    case_id = stack.charged_case()
    admitted = stack.admit(case_id, TEST_FACILITY, register_number="ECROU-0370")
    assert admitted.status_code == 201, admitted.text
    stack.judicial_learnt(case_id, lambda v: v["facility"] == TEST_FACILITY)
    ordered = stack.order_detention(case_id, stack.now() - timedelta(days=370))
    assert ordered.status_code == 201, ordered.text
    return case_id


def open_registry(page, origins: Origins, sub: str | None = None, **extra: str) -> None:
    token = token_for(origins.settings, "prison_registry", sub=sub)
    page.goto(
        f"{origins.ledger}/console/registry#{urlencode({'token': token, 'purpose': PURPOSE, **extra})}"
    )


def test_a_registrar_records_an_admission_and_sees_the_overdue_deadlines(origins, page):
    stack = origins.stack
    late = overdue_in_facility(stack)
    waiting = stack.charged_case()
    reached: list[str] = []
    page.on("request", lambda r: reached.append(r.url))
    answers: dict[str, str] = {}
    page.on(
        "response",
        lambda r: answers.setdefault(
            r.url.split("?")[0], r.headers.get("content-security-policy", "")
        ),
    )

    open_registry(page, origins)
    page.wait_for_selector(f"#overdue li[data-case-id='{late}']")
    overdue_text = page.locator(f"#overdue li[data-case-id='{late}']").inner_text()

    admitted_at = (datetime.now(UTC) - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S")
    page.fill("#adm-case_id", waiting)
    page.fill("#adm-admitted_at", admitted_at)
    page.click("#admission button[type=submit]")
    page.wait_for_selector("#err-warrant_ref:not(:empty)")
    problem = page.locator("#err-warrant_ref").inner_text()
    invalid = page.locator("#adm-warrant_ref").get_attribute("aria-invalid")
    screenshot(page, "console-registry-field-problem")

    page.fill("#adm-warrant_ref", "MD-2026-0099")
    page.fill("#adm-register_number", "ECROU-0099")
    page.click("#admission button[type=submit]")
    page.wait_for_selector("#admission-result .done")
    page.wait_for_selector("#timeline li.entry:has-text('DetaineeAdmitted')", timeout=30_000)
    entry = page.locator("#timeline li.entry:has-text('DetaineeAdmitted')").inner_text()
    screenshot(page, "console-registry")

    # Intake's problem in the page's language (the page sends its own as Accept-Language).
    assert "champ obligatoire" in problem.lower()
    assert invalid == "true"
    assert "ECROU-0370" in overdue_text
    assert "ECROU-0099" in entry and "MD-2026-0099" in entry
    # Intake recorded it (the ledger only shows what intake published).
    view = stack.view(stack.intake, waiting)
    assert view["facility"] == TEST_FACILITY
    # The token went to the ledger, intake and judicial only, as the page's policy says.
    origins_reached = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in reached}
    assert origins_reached == {origins.ledger, origins.intake, origins.judicial}
    policy = answers[f"{origins.ledger}/console/registry"]
    connect = next(d for d in policy.split(";") if d.strip().startswith("connect-src"))
    assert sorted(connect.split()[1:]) == sorted(["'self'", origins.intake, origins.judicial])


def test_the_registry_page_in_arabic_runs_right_to_left(origins, page):
    open_registry(page, origins, lang="ar")
    page.wait_for_selector("html[dir=rtl]", state="attached")
    page.wait_for_selector("#overdue li")
    title = page.locator("h1").inner_text()
    label = page.locator("label:has(#adm-warrant_ref) > span").bounding_box()
    field = page.locator("#adm-warrant_ref").bounding_box()
    screenshot(page, "console-registry-arabic")

    assert title == "سجل السجن"
    # A label sits at the right-hand edge of its field.
    assert abs((label["x"] + label["width"]) - (field["x"] + field["width"])) < 2


def test_only_the_consoles_origin_may_call_intake_from_a_browser(origins):
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,caseline-purpose",
    }
    allowed = httpx.options(f"{origins.intake}/cases", headers={"Origin": origins.ledger, **ask})
    other = httpx.options(
        f"{origins.intake}/cases", headers={"Origin": "https://evil.example", **ask}
    )
    read = httpx.get(f"{origins.judicial}/healthz", headers={"Origin": "https://evil.example"})

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == origins.ledger
    assert "access-control-allow-credentials" not in allowed.headers
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert "access-control-allow-origin" not in read.headers


OUSMANE = {
    "full_name": "Ousmane Diarra",
    "sex": "male",
    "nationality": "ML",
    "date_of_birth": "1990-05-14",
    "father_name": "Bakary Diarra",
}
OUSMANE_IN_ARABIC = {**OUSMANE, "full_name": "عثمان ديارا", "father_name": "بكاري ديارا"}


def held_here(stack: Stack, person: dict[str, Any]) -> tuple[str, str]:
    """A case of `person` (its case id and person id), admitted to the tests' prison."""
    body = arrest_payload(person=person, arrested_at=(stack.now() - timedelta(hours=3)).isoformat())
    opened = stack.post(stack.intake, "/cases", "police", body)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    admitted = stack.admit(case_id, TEST_FACILITY)
    assert admitted.status_code == 201, admitted.text
    return case_id, opened.json()["person_id"]


def search(page, name: str, birth: str = "") -> None:
    page.fill("#ps-name", name)
    page.fill("#ps-birth", birth)
    page.click("#person-search button[type=submit]")


def test_a_search_finds_the_person_arrested_under_another_spelling(origins, page):
    stack = origins.stack
    latin_case, latin_person = held_here(stack, OUSMANE)
    arabic_case, arabic_person = held_here(stack, OUSMANE_IN_ARABIC)

    open_registry(page, origins)
    page.wait_for_selector("#who:not(:empty)")
    search(page, "Usman Jara", "1990")
    found = page.locator(f"#candidates li.candidate[data-person-id='{arabic_person}']")
    found.wait_for()
    reasons = found.locator(".reasons").inner_text()
    persons = page.locator("#candidates li.candidate").evaluate_all(
        "items => items.map((i) => i.dataset.personId)"
    )
    shown = page.locator("#candidates").inner_text()
    linked = page.locator("#candidates a[data-case-id]").evaluate_all(
        "links => links.map((a) => a.dataset.caseId)"
    )
    screenshot(page, "console-registry-persons")
    found.locator(f"a[data-case-id='{arabic_case}']").click()
    page.wait_for_selector("#timeline li.entry:has-text('ArrestRecorded')", timeout=30_000)

    assert {latin_person, arabic_person} <= set(persons)
    assert {latin_case, arabic_case} <= set(linked)
    # The reasons come in the page's language (French by default), from the catalogues.
    assert "par le son" in reasons
    # No name is answered: the registrar opens the case to see it.
    assert "Ousmane" not in shown and "عثمان" not in shown
    assert page.url.startswith(f"{origins.ledger}/console")
    assert page.locator("#case").input_value() == arabic_case


def test_a_person_held_elsewhere_is_only_said_to_be_on_record(origins, page):
    stack = origins.stack
    here_case, here_person = held_here(stack, OUSMANE)
    body = arrest_payload(
        person={**OUSMANE, "full_name": "Ousmane Diara"},
        arrested_at=(stack.now() - timedelta(hours=3)).isoformat(),
    )
    away = stack.post(stack.intake, "/cases", "police", body)
    assert away.status_code == 201, away.text

    open_registry(page, origins)
    page.wait_for_selector("#who:not(:empty)")
    search(page, "Ousmane Diarra", "14/05/1990")
    page.locator(f"#candidates li.candidate[data-person-id='{here_person}']").wait_for()
    note = page.locator("#persons-note").inner_text()
    shown = page.locator("#candidates").inner_text()
    persons = page.locator("#candidates li.candidate").evaluate_all(
        "items => items.map((i) => i.dataset.personId)"
    )

    # The person no prison holds is not the registry's to see: not answered, only said to exist.
    assert persons == [here_person]
    assert away.json()["case_id"] not in shown and away.json()["person_id"] not in page.content()
    assert "Une identité semblable figure aussi dans des dossiers" in note
    assert here_case in shown


def test_a_link_is_proposed_by_one_registrar_and_confirmed_by_another(origins, page, browser):
    stack = origins.stack
    _, first_person = held_here(stack, OUSMANE)
    second_case, _ = held_here(stack, OUSMANE_IN_ARABIC)

    open_registry(page, origins, sub="registrar-a", case=second_case)
    page.wait_for_selector("#who:not(:empty)")
    search(page, "Ousmane Diarra", "14/05/1990")
    candidate = page.locator(f"#candidates li.candidate[data-person-id='{first_person}']")
    candidate.wait_for()
    page.fill("#link-reason", "Same date of birth and father")
    candidate.locator("button.propose").click()
    waiting = page.locator("#pending li[data-link-id]")
    waiting.wait_for(timeout=30_000)
    link_id = waiting.get_attribute("data-link-id")
    waiting.locator("button.confirm").click()
    page.wait_for_selector("#link-result .refusal")
    refusal = page.locator("#link-result .refusal")
    rule, said = refusal.get_attribute("data-rule"), refusal.inner_text()
    screenshot(page, "console-registry-link-refused")
    unchanged = stack.view(stack.intake, second_case)["person_id"]

    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    try:
        second = other.new_page()
        second.set_default_timeout(15_000)
        open_registry(second, origins, sub="registrar-b", case=second_case)
        second.locator(f"#pending li[data-link-id='{link_id}'] button.confirm").click()
        second.wait_for_selector("#link-result .done")
        second.wait_for_selector("#pending li:not([data-link-id])", timeout=30_000)
        confirmed = second.locator("#link-result").inner_text()
    finally:
        other.close()

    assert rule == "link-by-one-person"
    # The page's explanation, and intake's own detail in the page's language.
    assert "seconde personne" in said and "registrar-a a proposé ce rapprochement" in said
    assert unchanged != first_person
    assert second_case in confirmed
    assert stack.view(stack.intake, second_case)["person_id"] == first_person


def test_the_person_search_in_arabic_runs_right_to_left(origins, page):
    _, person = held_here(origins.stack, OUSMANE_IN_ARABIC)

    open_registry(page, origins, lang="ar")
    page.wait_for_selector("html[dir=rtl]", state="attached")
    page.wait_for_selector("#who:not(:empty)")
    search(page, "عثمان ديارا", "1990")
    found = page.locator(f"#candidates li.candidate[data-person-id='{person}']")
    found.wait_for()
    title = page.locator("#persons-title").inner_text()
    track = found.locator(".bar").bounding_box()
    fill = found.locator(".fill").bounding_box()
    button = found.locator("button.propose").inner_text()
    person_shown = found.locator("bdi.id").inner_text()
    screenshot(page, "console-registry-persons-arabic")

    assert title == "البحث عن شخص"
    assert button == "اقتراح ربط الملف بهذا الشخص"
    # The person id is kept whole, left to right, inside the Arabic sentence.
    assert person_shown == person
    # The score's bar fills from the right-hand edge, the start of a line in Arabic.
    assert 0 < fill["width"] <= track["width"]
    assert abs((fill["x"] + fill["width"]) - (track["x"] + track["width"])) < 1
