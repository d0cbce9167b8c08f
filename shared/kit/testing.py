"""The pytest plugin of Caseline: real PostgreSQL and NATS, isolated per test.

Servers come from `CASELINE_DATABASE_URL` / `CASELINE_NATS_URL` when set, else embedded ones are
started once per test session on free ports (once per worker when the suite runs on several cores,
as `make test` runs it), and only when a test asks for them (through
`servers`, `settings` or `settings_factory`): collecting or running the fast tier starts none.
Each `settings_factory()` call makes a fresh database, stream name and subject prefix, so tests
and parallel runs never collide; once the test is over, its databases are dropped and its streams
deleted (in the background), so the session's data stays small. Empty databases are made ahead,
also in the background, while tests run. The helpers tests share live in `tests/support`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
import tempfile
import threading
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

DELIVERY_STREAM_SUFFIX = "_DELIVERIES"
"""As `shared.agencies.DELIVERY_STREAM_SUFFIX` (the kit does not import the agencies)."""


@dataclass
class Servers:
    """The PostgreSQL and NATS the tests use; `postgres`/`nats` are set when embedded."""

    database_url: str
    nats_url: str
    postgres: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    root: Path | None = None
    scratch: _Scratch | None = None


def fresh_database(base_url: str, prefix: str = "t") -> str:
    """Create an empty database on the server of `base_url` and return its URL."""
    parts = DatabaseParts(base_url)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(parts.conninfo(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = parts.user + (f":{parts.password}" if parts.password else "")
    return f"postgresql://{auth}@{parts.host}:{parts.port}/{name}"


def drop_database(url: str) -> None:
    """Drop the database of `url` (its server's other databases are untouched), connections and
    all."""
    parts = DatabaseParts(url)
    admin = DatabaseParts(url.rsplit("/", 1)[0] + "/postgres")
    with psycopg.connect(admin.conninfo(), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(parts.dbname))
        )


async def _delete_streams(nats_url: str, names: list[str]) -> None:
    import nats
    from nats.js.errors import NotFoundError

    nc = await nats.connect(servers=nats_url.split(","), allow_reconnect=False)
    try:
        js = nc.jetstream()
        for name in names:
            with contextlib.suppress(NotFoundError):
                await js.delete_stream(name)
    finally:
        await nc.close()


class _Scratch:
    """The session's scratch databases and streams: empty databases made ahead (CREATE DATABASE
    copies a template: a tenth of a second or more that no test should wait for), and what a
    test made removed once it is over. Both in a thread of their own, best effort: what is not
    removed by the end goes with the session's data directory."""

    AHEAD = 2

    def __init__(self, database_url: str, nats_url: str) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.ready: queue.Queue[str] = queue.Queue()
        self.work: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="caseline-scratch", daemon=True)
        self.thread.start()
        self._fill()

    def database(self) -> str:
        """An empty database of its own (one made ahead if one is ready)."""
        try:
            url = self.ready.get_nowait()
        except queue.Empty:
            url = fresh_database(self.database_url)
        self._fill()
        return url

    def discard(self, settings: Settings, *, database: bool = True, streams: bool = True) -> None:
        """Drop the database and delete the streams of `settings`, in the background."""
        if database and settings.database_url:
            url = settings.database_url
            self.work.put(lambda: drop_database(url))
        if streams:
            names = [settings.stream, settings.stream + DELIVERY_STREAM_SUFFIX]
            self.work.put(lambda: asyncio.run(_delete_streams(self.nats_url, names)))

    def close(self) -> None:
        """Stop: what is still waiting is left to the removal of the data directory; the
        databases made ahead for nobody go (on a configured server, they would stay)."""
        self.closed = True
        self.work.put(None)
        self.thread.join(timeout=10)
        while not self.ready.empty():
            with contextlib.suppress(Exception):
                drop_database(self.ready.get_nowait())

    def _fill(self) -> None:
        if not self.closed and self.ready.qsize() + self.work.qsize() < self.AHEAD + 2:
            self.work.put(self._make_one)

    def _make_one(self) -> None:
        if self.ready.qsize() < self.AHEAD:
            self.ready.put(fresh_database(self.database_url))

    def _run(self) -> None:
        while (task := self.work.get()) is not None:
            if self.closed:
                break
            # Best effort: a test may have dropped its own database, or stopped the servers.
            with contextlib.suppress(Exception):
                task()


def _remove_soon(root: Path) -> None:
    """Remove the session's data directory without holding up the end of the run."""
    parked = root.with_name(root.name + "-removed")
    try:
        root.rename(parked)
    except OSError:
        parked = root
    try:
        # Not a `Popen`: nothing here waits for it, and a `Popen` collected running warns.
        os.spawnlp(os.P_NOWAIT, "rm", "rm", "-rf", "--", str(parked))  # noqa: S606
    except OSError:
        shutil.rmtree(parked, ignore_errors=True)


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
    scratch = _Scratch(database_url, nats_url)
    try:
        yield Servers(database_url, nats_url, postgres, nats, root, scratch)
    finally:
        scratch.close()
        if nats is not None:
            nats.stop()
        if postgres is not None:
            postgres.stop("immediate")
        _remove_soon(root)


@pytest.fixture
def settings_factory(servers: Servers) -> Iterator[Callable[..., Settings]]:
    """Make `Settings` on a fresh database and a stream and subject prefix of their own; once
    the test is over, the databases are dropped and the streams deleted."""
    made: list[tuple[Settings, bool, bool]] = []

    def make(**overrides: Any) -> Settings:
        settings = settings_for(servers, **overrides)
        # Only what was made here goes: an override may name a database or stream to share.
        made.append((settings, "database_url" not in overrides, "stream" not in overrides))
        return settings

    yield make
    if servers.scratch is not None:
        for settings, database, streams in made:
            servers.scratch.discard(settings, database=database, streams=streams)


TEST_STREAM_BYTES = 64 * 1024**2
"""A test's deliveries stream: NATS reserves a stream's limit on disk, and tests make many."""


def settings_for(servers: Servers, **overrides: Any) -> Settings:
    """Settings on a fresh database, with a stream and subject prefix of their own."""
    run = uuid.uuid4().hex[:10]
    database_url = overrides.get("database_url") or (
        servers.scratch.database() if servers.scratch else fresh_database(servers.database_url)
    )
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
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
