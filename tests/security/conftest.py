"""Helpers for hostile-input tests: each service served over real HTTP, on a database of its own."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from shared.kit.settings import Settings
from shared.kit.testing import TEST_STREAM_BYTES, Servers, fresh_database
from tests.support import serving

ROLE_FOR = {
    "intake": "police",
    "judicial": "judge",
    "assessment": "assessor",
    "programmes": "social_worker",
    "ledger": "auditor",
}


def isolated_settings(servers: Servers) -> Settings:
    """Settings of a fresh database and a stream of their own."""
    run = uuid.uuid4().hex[:10]
    return Settings(
        environment="test",
        database_url=fresh_database(servers.database_url),
        nats_url=servers.nats_url,
        stream=f"CASELINE_{run}",
        delivery_stream_max_bytes=TEST_STREAM_BYTES,
        subject_prefix=f"t{run}.",
        pool_size=4,
    )


@contextmanager
def served(service: str, settings: Settings) -> Iterator[str]:
    """The service over real HTTP, lifespan included; its base URL."""
    module = importlib.import_module(f"services.{service}.service")
    app = module.create_app(settings)
    # The document, and with it every route's fields, is built here before any thread serves:
    # FastAPI builds them lazily, silencing a warning in a way that is not thread-safe (see
    # `filterwarnings` in pyproject.toml), and a document that failed to build is a 500.
    app.openapi()
    with serving(app) as base_url:
        yield base_url
