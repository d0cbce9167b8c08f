"""The judicial service's OpenAPI, fuzzed with a valid token: no 5xx, every answer as documented."""

from __future__ import annotations

from tests.security.conftest import ROLE_FOR, served
from tests.security.fuzz import fuzz_service


def test_no_generated_input_breaks_the_judicial_api(module_settings):
    for base_url in served("judicial", module_settings):
        failures = fuzz_service(base_url, module_settings, ROLE_FOR["judicial"])

    assert failures == []
