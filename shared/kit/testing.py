"""The pytest plugin of Caseline: real PostgreSQL and NATS, isolated per test.

Servers come from `CASELINE_DATABASE_URL` / `CASELINE_NATS_URL` when set, else embedded ones are
started once per test session on free ports, and only when a test asks for them (through
`servers`, `settings` or `settings_factory`): collecting or running the fast tier starts none.
Each `settings_factory()` call makes a fresh database, stream name and subject prefix, so tests
and parallel runs never collide. The helpers tests share live in `tests/support`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from shared.kit.servers import EmbeddedPostgres, NatsServer
from shared.kit.settings import DatabaseParts, Settings

__all__ = ["TEST_STREAM_BYTES", "Servers", "fresh_database", "settings_for"]


@dataclass
class Servers:
    """The PostgreSQL and NATS the tests use; `postgres`/`nats` are set when embedded."""

    database_url: str
    nats_url: str
    postgres: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    root: Path | None = None


def fresh_database(base_url: str, prefix: str = "t") -> str:
    """Create an empty database on the server of `base_url` and return its URL."""
    parts = DatabaseParts(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(parts.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = parts.user + (f":{parts.password}" if parts.password else "")
    return f"postgresql://{auth}@{parts.host}:{parts.port}/{name}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-faults", action="store_true", help="run the long fault suite (marker `faults`)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long fault suite (`faults`) runs only with `--run-faults` (`make faults`)."""
    if config.getoption("--run-faults"):
        return
    skip = pytest.mark.skip(reason="the long fault suite runs with --run-faults (make faults)")
    for item in items:
        if item.get_closest_marker("faults") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The session's PostgreSQL and NATS (embedded unless the URLs are configured)."""
    root = Path(tempfile.mkdtemp(prefix="caseline-test-"))
    database_url = os.environ.get("CASELINE_DATABASE_URL")
    nats_url = os.environ.get("CASELINE_NATS_URL")
    postgres = nats = None
    if not database_url:
        postgres = EmbeddedPostgres(root / "pg", durable=False).start()
        database_url = postgres.url
    if not nats_url:
        nats = NatsServer(root / "nats").start()
        nats_url = nats.url
    try:
        yield Servers(database_url, nats_url, postgres, nats, root)
    finally:
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings_factory(servers: Servers) -> Callable[..., Settings]:
    """Make `Settings` on a fresh database and a stream and subject prefix of their own."""

    return lambda **overrides: settings_for(servers, **overrides)


TEST_STREAM_BYTES = 64 * 1024**2
"""A test's deliveries stream: NATS reserves a stream's limit on disk, and tests make many."""


def settings_for(servers: Servers, **overrides: Any) -> Settings:
    """Settings on a fresh database, with a stream and subject prefix of their own."""
    run = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": fresh_database(servers.database_url),
        "nats_url": servers.nats_url,
        "stream": f"CASELINE_{run}",
        "delivery_stream_max_bytes": TEST_STREAM_BYTES,
        "subject_prefix": f"t{run}.",
        "pool_size": 4,
        "relay_poll_seconds": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(settings_factory: Callable[..., Settings]) -> Settings:
    """Settings on a fresh database, stream and subject prefix."""
    return settings_factory()
