"""The console at `/console`: the web pages of auditors and registrars, served from package files.

No data is in these files and they need no token; every call the page makes carries the user's
bearer token and purpose, like any client's. `/console/bundle-viewer.html` is one self-contained
file (styles, scripts and the three catalogues inlined) that verifies a bundle with no server.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from shared.kit.settings import Settings, parse_service_urls

__all__ = [
    "CONSOLE_FILES",
    "LANGUAGES",
    "called_services",
    "console_files",
    "console_policy",
    "router",
]

CONSOLE_FILES = Path(__file__).parent / "console"
LANGUAGES = ("fr", "ar", "en")
SCRIPTS = ("i18n.js", "session.js", "timeline.js", "verify.js", "console.js")
STATS_SCRIPTS = ("i18n.js", "session.js", "stats.js")
REGISTRY_SCRIPTS = ("i18n.js", "session.js", "timeline.js", "registry.js")
CALLED = ("intake", "judicial")
"""The services the console's pages call besides the ledger (admissions; overdue deadlines)."""
VIEWER_SCRIPTS = ("i18n.js", "timeline.js", "verify.js", "viewer.js")

# The page loads only its own files and talks only to its own origin and the services it calls.
_CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'{called};"
    " img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The viewer runs inline code and reaches nothing: a bundle dropped on it stays on the computer.
_VIEWER_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:;"
    " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)


def _read(name: str) -> str:
    return (CONSOLE_FILES / name).read_text(encoding="utf-8")


@cache
def console_files() -> dict[str, tuple[bytes, str]]:
    """Each path of the console: its bytes and media type, composed once."""
    files = {
        "/console": (_read("index.html").encode(), "text/html; charset=utf-8"),
        "/console/app.js": (
            "\n".join(_read(n) for n in SCRIPTS).encode(),
            "text/javascript; charset=utf-8",
        ),
        "/console/stats": (_read("stats.html").encode(), "text/html; charset=utf-8"),
        "/console/stats.js": (
            "\n".join(_read(n) for n in STATS_SCRIPTS).encode(),
            "text/javascript; charset=utf-8",
        ),
        "/console/registry": (_read("registry.html").encode(), "text/html; charset=utf-8"),
        "/console/registry.js": (
            "\n".join(_read(n) for n in REGISTRY_SCRIPTS).encode(),
            "text/javascript; charset=utf-8",
        ),
        "/console/console.css": (_read("console.css").encode(), "text/css; charset=utf-8"),
        "/console/bundle-viewer.html": (bundle_viewer(), "text/html; charset=utf-8"),
    }
    for lang in LANGUAGES:
        files[f"/console/messages/{lang}.json"] = (
            _read(f"messages/{lang}.json").encode(),
            "application/json",
        )
    return files


def bundle_viewer() -> bytes:
    """The viewer page with everything it needs inlined."""
    catalogues = {lang: json.loads(_read(f"messages/{lang}.json")) for lang in LANGUAGES}
    # `</` would close the inline script early.
    inline = json.dumps(catalogues, ensure_ascii=False).replace("</", "<\\/")
    scripts = "\n".join(_read(n) for n in VIEWER_SCRIPTS).replace("</script", "<\\/script")
    page = (
        _read("viewer.html")
        .replace("/*CASELINE:STYLE*/", _read("console.css"))
        .replace("/*CASELINE:MESSAGES*/", inline)
        .replace("/*CASELINE:SCRIPTS*/", scripts)
    )
    return page.encode()


def called_services(settings: Settings) -> dict[str, str]:
    """Intake's and judicial's base URLs as the browser reaches them: `console_service_urls`, else
    `service_urls`. The page sends the user's token to these and to the ledger, nowhere else."""
    urls = parse_service_urls(settings.console_service_urls) or settings.service_url_map()
    return {name: urls[name] for name in CALLED if name in urls}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def console_policy(settings: Settings) -> str:
    """The console pages' Content-Security-Policy: `connect-src` names the ledger ('self') and
    exactly the origins of the services the page calls."""
    origins = sorted({_origin(url) for url in called_services(settings).values()})
    return _CONSOLE_POLICY.format(called="".join(f" {o}" for o in origins))


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _serve(request: Request, path: str) -> Response:
    body, media_type = console_files()[path]
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    viewer = path.endswith("bundle-viewer.html")
    policy = _VIEWER_POLICY if viewer else console_policy(_settings(request))
    headers = {
        "ETag": tag,
        # Revalidated on each load, answered 304 when unchanged: cheap over a slow link.
        "Cache-Control": "no-cache",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/console")
def console_page(request: Request) -> Response:
    """The console."""
    return _serve(request, "/console")


@router.get("/console/stats")
def stats_page(request: Request) -> Response:
    """The statistics, drawn."""
    return _serve(request, "/console/stats")


@router.get("/console/stats.js")
def stats_script(request: Request) -> Response:
    return _serve(request, "/console/stats.js")


@router.get("/console/registry")
def registry_page(request: Request) -> Response:
    """The prison registry's page: admissions and overdue deadlines."""
    return _serve(request, "/console/registry")


@router.get("/console/registry.js")
def registry_script(request: Request) -> Response:
    return _serve(request, "/console/registry.js")


@router.get("/console/config.json")
def console_config(request: Request) -> Response:
    """The base URLs of the services the pages call (no secret: addresses the browser reaches)."""
    body = json.dumps({"services": called_services(_settings(request))}).encode()
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type="application/json", headers=headers)


@router.get("/console/app.js")
def console_script(request: Request) -> Response:
    return _serve(request, "/console/app.js")


@router.get("/console/console.css")
def console_style(request: Request) -> Response:
    return _serve(request, "/console/console.css")


@router.get("/console/bundle-viewer.html")
def bundle_viewer_page(request: Request) -> Response:
    return _serve(request, "/console/bundle-viewer.html")


@router.get("/console/messages/{lang}.json")
def messages(request: Request, lang: Annotated[Literal["fr", "ar", "en"], PathParam()]) -> Response:
    return _serve(request, f"/console/messages/{lang}.json")
