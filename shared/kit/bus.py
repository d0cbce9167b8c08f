"""The NATS JetStream connection of a process, and the stream and subject names (SPEC §4).

Connecting never blocks start-up: a service answers requests while NATS is down, and the relay and
subscribers wait for `jetstream()` until the connection (re)appears.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import unquote, urlsplit

from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from shared.events import CatalogueEvent, subject_for
from shared.kit.i18n import translate
from shared.kit.settings import Settings

__all__ = ["Bus", "ensure_stream", "inbox_prefix"]

log = logging.getLogger("caseline.bus")


async def ensure_stream(js: JetStreamContext, settings: Settings) -> None:
    """Create the stream `CASELINE` (file storage, `caseline.>`, duplicate window ≥ 2 min).

    Under the generated NATS permissions only `ops` may create or change it (`caseline
    nats-stream`, before the services start); a service connected as a NATS user does not ask
    (`Bus.provisioned`): its consumers are in place, or it waits for them."""
    config = StreamConfig(
        name=settings.stream,
        subjects=[f"{settings.subject_prefix}caseline.>"],
        storage=StorageType.FILE,
        duplicate_window=float(settings.duplicate_window_seconds),
        num_replicas=settings.stream_replicas,
    )
    try:
        info = await js.stream_info(settings.stream)
    except NotFoundError:
        with contextlib.suppress(BadRequestError):
            await js.add_stream(config)
        return
    if (info.config.duplicate_window or 0) < settings.duplicate_window_seconds or (
        (info.config.num_replicas or 1) < settings.stream_replicas  # a cluster grew: scale up
    ):
        # Never scale a stream down from here: an operator may have given it more replicas.
        config.num_replicas = max(settings.stream_replicas, info.config.num_replicas or 1)
        await js.update_stream(config)


def inbox_prefix(user: str | None) -> str:
    """The connection's reply subjects: its NATS user's own (`_INBOX.<user>`), which the
    generated permissions let no other user read (deploy/nats/agencies.conf)."""
    return f"_INBOX.{user}" if user else "_INBOX"


def _servers(url: str) -> tuple[list[str], str | None, str | None]:
    """A cluster's comma-separated URLs, and the first one's user and password as options: the
    client uses no URL's credentials for the servers the cluster tells it about, only these."""
    servers = [u.strip() for u in url.split(",") if u.strip()]
    first = urlsplit(servers[0])
    if first.username is None or first.password is None:
        return servers, None, None
    return servers, unquote(first.username), unquote(first.password)


class Bus:
    """One NATS connection per process; reconnects forever."""

    def __init__(self, settings: Settings, name: str) -> None:
        self.settings = settings
        self.name = name
        self.nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name=f"bus-{self.name}")

    async def _connect(self) -> None:
        delay = 0.2
        servers, user, password = _servers(self.settings.nats_url or "nats://127.0.0.1:4222")
        while True:
            nc = Client()
            try:
                await nc.connect(
                    servers,
                    name=self.name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    # Seconds, which nats-py annotates as `int` but sleeps for as given.
                    reconnect_time_wait=0.5,  # type: ignore[arg-type]
                    connect_timeout=2,
                    error_cb=self._on_error,
                    inbox_prefix=inbox_prefix(user),
                    user=user,
                    password=password,
                )
                js = nc.jetstream(timeout=5)
                if not self.provisioned:
                    await ensure_stream(js, self.settings)
            except asyncio.CancelledError:
                # Cancelled mid-connect (a process stopping at once): leave no socket behind.
                with contextlib.suppress(Exception):
                    await asyncio.shield(nc.close())
                raise
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await nc.close()
                log.warning("NATS not reachable (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.nc, self._js = nc, js
            self._ready.set()
            return

    @property
    def provisioned(self) -> bool:
        """Whether the stream and the durable consumers are made by `ops` (`caseline
        nats-stream`) rather than by this process: when it connects as a NATS user, as under
        the generated permissions (deploy/nats/agencies.conf), where a service may neither make
        nor change them. Without a user (a development server, the tests' own), it makes them."""
        return _servers(self.settings.nats_url or "nats://127.0.0.1:4222")[1] is not None

    async def _on_error(self, exc: Exception) -> None:
        # A refusal by the server is a configuration mistake (or an ops step not yet run, such
        # as `caseline nats-stream`): say so, where a passing network error is only noise.
        if "permissions violation" in str(exc).lower():
            log.warning("NATS refused %s: %s", self.name, exc)
            return
        log.debug("NATS: %s", exc)

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    async def jetstream(self) -> JetStreamContext:
        """The JetStream context, once connected (waits until then)."""
        await self._ready.wait()
        if self._js is None:
            raise ConnectionError("JetStream is not connected")
        return self._js

    def subject(self, event: CatalogueEvent | type[CatalogueEvent], subject_id: Any) -> str:
        return f"{self.settings.subject_prefix}{subject_for(event, subject_id)}"

    def prefixed(self, subject: str) -> str:
        return f"{self.settings.subject_prefix}{subject}"

    async def readiness(self) -> str | None:
        return None if self.connected else translate("NATS is not connected", context="not-ready")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.nc is not None:
            # Both bounded: a stopping process must never hang on a server that went away.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.drain(), timeout=5)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), timeout=5)
