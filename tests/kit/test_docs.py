"""Every service's /docs: Swagger UI from Caseline's own files, the bearer scheme declared."""

from __future__ import annotations

import importlib
import re

import pytest
from fastapi.testclient import TestClient

from shared.kit.settings import Settings

SERVICES = ("intake", "judicial", "assessment", "programmes", "ledger")


def app_of(service: str):
    module = importlib.import_module(f"services.{service}.service")
    return module.create_app(Settings(environment="test"))


@pytest.mark.parametrize("service", SERVICES)
def test_the_docs_page_loads_only_the_services_own_assets(service):
    client = TestClient(app_of(service))

    page = client.get("/docs")
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    answers = [client.get(url) for url in assets]

    assert page.status_code == 200
    assert assets
    assert all(url.startswith("/docs/assets/") for url in assets), assets
    assert [a.status_code for a in answers] == [200] * len(assets)


@pytest.mark.parametrize("service", SERVICES)
def test_the_openapi_document_declares_the_bearer_scheme_on_guarded_routes(service):
    schema = app_of(service).openapi()

    scheme = schema["components"]["securitySchemes"]["bearer"]
    cases = schema["paths"][
        "/cases/{case_id}" if service != "ledger" else "/cases/{case_id}/timeline"
    ]
    health = schema["paths"]["/healthz"]["get"]

    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert cases["get"]["security"] == [{"bearer": []}]
    assert health["security"] == []


def test_an_unknown_docs_asset_is_not_served():
    client = TestClient(app_of("intake"))

    assert client.get("/docs/assets/..%2Fsettings.py").status_code in (404, 422)
    assert client.get("/docs/assets/index.html").status_code == 422
