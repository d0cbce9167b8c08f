"""A real headless Chromium for the console's tests (Debian's `chromium`, driven by Playwright);
screenshots go to var/screenshots/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"


def chromium_path() -> str | None:
    """`CASELINE_CHROMIUM`, else the system's chromium."""
    given = os.environ.get("CASELINE_CHROMIUM")
    return given or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One browser for the console's tests, closed when they end: Playwright's synchronous driver
    keeps an event loop running in the main thread, which every later `asyncio.run` would meet."""
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="the Playwright driver is not installed (make install)"
    )
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium: install Debian's chromium package (apt-get install chromium)")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> Path:
    """Save the page as var/screenshots/<name>.png (kept as a test artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
