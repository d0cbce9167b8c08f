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

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

__all__ = ["CONSOLE_FILES", "LANGUAGES", "console_files", "router"]

CONSOLE_FILES = Path(__file__).parent / "console"
LANGUAGES = ("fr", "ar", "en")
SCRIPTS = ("i18n.js", "timeline.js", "verify.js", "console.js")
VIEWER_SCRIPTS = ("i18n.js", "timeline.js", "verify.js", "viewer.js")

# The page loads only its own files and talks only to its own origin.
_CONSOLE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self';"
    " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
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


def _serve(request: Request, path: str) -> Response:
    body, media_type = console_files()[path]
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    policy = _VIEWER_POLICY if path.endswith("bundle-viewer.html") else _CONSOLE_POLICY
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
