"""The statistics page in a real headless browser, against a real ledger: the charts draw the
numbers of `GET /stats`, and a suppressed figure is drawn as suppressed, never as a zero."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from tests.console.conftest import screenshot
from tests.ledger.test_statistics import BAMAKO, KOULIKORO, QUERY, _population
from tests.support import auth, serving, token_for

PURPOSE = "rapport trimestriel"


@pytest.fixture
def figures(settings) -> None:
    """The statistics tests' population: known counts, some small enough to be suppressed."""
    ledger = LedgerApplication(settings)
    ledger.store.append(_population().items)
    ledger.close()


def cells(answer: dict[str, Any], name: str, facility: str | None) -> dict[str, Any]:
    indicator = next(i for i in answer["indicators"] if i["name"] == name)
    return {
        c["period"]: "suppressed" if c["suppressed"] else c["value"]
        for c in indicator["cells"]
        if c["facility"] == facility and c["period"] is not None
    }


def open_stats(page, base: str, settings, **extra: str) -> None:
    fragment = {"token": token_for(settings, "auditor"), "purpose": PURPOSE, **QUERY, **extra}
    page.goto(f"{base}/console/stats#{urlencode(fragment)}")


def drawn(page, chart: str) -> dict[tuple[str, str], str]:
    """Each bar of `chart`: (series, period) → its value, or `suppressed`."""
    bars = page.locator(f"#chart-{chart} svg rect.bar").all()
    return {
        (b.get_attribute("data-series"), b.get_attribute("data-period")): (
            "suppressed" if b.get_attribute("data-suppressed") else b.get_attribute("data-value")
        )
        for b in bars
    }


def test_the_charts_draw_the_numbers_of_get_stats(settings, figures, page):
    with serving(ledger_app(settings)) as base:
        answer = httpx.get(
            f"{base}/stats",
            params=QUERY,
            headers={**auth(settings, "auditor"), "Caseline-Purpose": PURPOSE},
        ).json()
        open_stats(page, base, settings)
        page.wait_for_selector("#chart-arrests svg rect.bar")
        everywhere = drawn(page, "arrests")
        page.select_option("#facility", BAMAKO)
        page.wait_for_selector("#chart-arrests rect[data-value='12']")
        bamako = drawn(page, "arrests")
        breaches = drawn(page, "breaches")
        screenshot(page, "console-statistics")

    expected = {
        (name, period): "suppressed" if value == "suppressed" else str(value)
        for name in ("arrests", "persons_arrested", "releases")
        for period, value in cells(answer, name, None).items()
        if value is not None
    }
    # Every facility together: the small national counts are suppressed too.
    assert expected[("arrests", "2025-03")] == "suppressed"
    assert everywhere == expected
    assert (
        bamako[("arrests", "2025-03")] == str(cells(answer, "arrests", BAMAKO)["2025-03"]) == "12"
    )
    assert breaches[("deadline_breaches", "2025-03")] == "6"
    assert breaches[("breaches_ended", "2025-03")] == str(
        cells(answer, "breaches_ended", BAMAKO)["2025-03"]
    )


def test_a_suppressed_figure_is_drawn_as_suppressed_not_as_zero(settings, figures, page):
    with serving(ledger_app(settings)) as base:
        answer = httpx.get(
            f"{base}/stats",
            params=QUERY,
            headers={**auth(settings, "auditor"), "Caseline-Purpose": PURPOSE},
        ).json()
        open_stats(page, base, settings)
        page.wait_for_selector("#chart-arrests svg rect.bar")
        page.select_option("#facility", KOULIKORO)
        page.wait_for_selector("#chart-arrests rect[data-suppressed]")
        bars = drawn(page, "arrests")
        row = page.locator("#chart-arrests-table tbody tr", has_text="2025-03")
        cell = row.locator("td[data-series=arrests]")
        shown, marked = cell.inner_text(), cell.get_attribute("data-suppressed")
        screenshot(page, "console-statistics-suppressed")

    # Two arrests at Koulikoro in March: fewer than five, suppressed by the ledger.
    assert cells(answer, "arrests", KOULIKORO)["2025-03"] == "suppressed"
    assert bars[("arrests", "2025-03")] == "suppressed"
    assert (shown, marked) == ("n.d.", "true")
    assert bars[("releases", "2025-03")] == "8"


def test_the_statistics_page_in_arabic_runs_right_to_left(settings, figures, page):
    with serving(ledger_app(settings)) as base:
        open_stats(page, base, settings, lang="ar")
        page.wait_for_selector("#chart-arrests svg rect.bar")
        page.wait_for_selector("html[dir=rtl]", state="attached")
        title = page.locator("h1").inner_text()
        heading = page.locator("h1").bounding_box()
        caption = page.locator("#chart-arrests-table caption").inner_text()
        screenshot(page, "console-statistics-arabic")

    assert title == "إحصاءات Caseline"
    assert caption == "الاعتقالات وحالات الإفراج"
    # The title starts at the right-hand side of the page.
    assert heading["x"] + heading["width"] > 1280 - 120


def test_the_csv_export_is_downloaded_with_the_token(settings, figures, page, tmp_path):
    with serving(ledger_app(settings)) as base:
        open_stats(page, base, settings)
        page.wait_for_selector("#chart-arrests svg rect.bar")
        with page.expect_download() as download:
            page.click("#csv")
        saved = tmp_path / "stats.csv"
        download.value.save_as(saved)

    text = saved.read_text(encoding="utf-8-sig")
    assert download.value.suggested_filename == "caseline-stats-month.csv"
    assert "n.d." in text
    assert BAMAKO in text
