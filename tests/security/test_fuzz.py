"""Each service's OpenAPI, fuzzed with a valid token by schemathesis (every check, every phase):
no 5xx, every answer as documented, schema-valid data refused only by rules no schema can state.

The five run at once, each service on a database and a stream of its own, each run in a process of
its own, so that the runs share the machine's cores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest

from shared.kit.testing import Servers
from tests.security.conftest import ROLE_FOR, isolated_settings, served
from tests.security.fuzz import failures_of, start_fuzz


@pytest.fixture(scope="module")
def failures(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, list[str]]]:
    with ExitStack() as stack:
        # Every service is up before any run starts: building an app while another answers
        # requests races on the process's warning filters, which are not thread-safe.
        served_at = {}
        for service in ROLE_FOR:
            settings = isolated_settings(servers)
            served_at[service] = (stack.enter_context(served(service, settings)), settings)
        # Each OpenAPI document is built once, in turn, before the runs ask for them at once: its
        # generation sets the same warning filters (FastAPI silences a pydantic warning there).
        for base_url, _ in served_at.values():
            assert httpx.get(f"{base_url}/openapi.json", timeout=60).status_code == 200
        runs = {}
        for service, (base_url, settings) in served_at.items():
            workdir = tmp_path_factory.mktemp(service)
            runs[service] = start_fuzz(base_url, settings, ROLE_FOR[service], workdir)
            stack.callback(runs[service].kill)
        yield {service: failures_of(run) for service, run in runs.items()}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", ROLE_FOR)
def test_no_generated_input_breaks_the_api(service: str, failures: dict[str, list[str]]) -> None:
    found = failures[service]

    assert not found, "\n".join(found)
