"""Schemathesis over one service's own OpenAPI with a valid token: no 5xx, no off-schema answer."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.kit.auth import mint_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 10


def fuzz_service(base_url: str, settings: Any, role: str) -> list[str]:
    """Run every operation of the service's OpenAPI; return the failures found (none, we hope)."""
    token = mint_token(settings, sub=f"fuzz-{role}", agency=f"fuzz-{role}-agency", role=role)
    headers = {"Authorization": f"Bearer {token}", "Caseline-Purpose": "robustness testing"}
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)

        try:
            check()
        except Exception as failure:
            failures.append(f"{operation.label}: {str(failure)[:800]}")
    return failures
