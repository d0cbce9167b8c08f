"""The prison registry's page in a real headless browser, against real intake, judicial and
ledger services on their own origins: an admission recorded through the form (intake, reached
across origins) reaches the case's timeline (ledger); a field's problem is shown beside the field;
the facility's overdue deadlines come from judicial."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
from tests.support import TEST_FACILITY, serving, token_for

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


def open_registry(page, origins: Origins, **extra: str) -> None:
    token = token_for(origins.settings, "prison_registry")
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

    assert "field required" in problem.lower()
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
    assert f"connect-src 'self' {origins.intake} {origins.judicial};" in policy


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
