"""Every service's `/docs`: Swagger UI from files shipped with Caseline (no outside asset, so it
works offline), and the bearer scheme declared in the OpenAPI document and applied to the routes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI
from fastapi import Path as PathParam
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["BEARER", "install_docs"]

ASSETS = Path(__file__).parent / "swagger_ui"
"""swagger-ui-dist (npm), its version and licence in `VERSION`, `LICENSE` and `NOTICE`."""
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "A JWT with `sub`, `agency`, `role` and `exp` (SPEC §8); reads also send a"
    " `Caseline-Purpose` header.",
}
_MEDIA = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
Asset = Literal["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]


def install_docs(app: FastAPI, open_paths: Iterable[str]) -> None:
    """`/docs` and its assets on `app`, and the bearer scheme on every operation but `open_paths`
    (the app must be built with `docs_url=None`)."""
    exempt = frozenset(open_paths)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"persistAuthorization": False},
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def asset(name: Annotated[Asset, PathParam()]) -> FileResponse:
        path = ASSETS / name
        return FileResponse(path, media_type=_MEDIA[path.suffix])

    described = app.openapi

    def openapi() -> dict[str, Any]:
        schema = described()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = BEARER
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                operation["security"] = [] if path in exempt else [{"bearer": []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
