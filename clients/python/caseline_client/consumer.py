"""Pull an agency's deliveries from its durable JetStream consumer, each event handled once.

`subscribe` (or `AgencyConsumer`, to stop it and read its counts) binds the consumer the ledger
made for the agency (`agency-<id>` on `CASELINE_DELIVERIES`), as the agency's NATS user
(`agency-<id>`, replies under `_INBOX.agency-<id>`); every name can be given. Each delivery goes
to the handler, and is acked only once the handler returned; an exception naks it with a delay,
and the server delivers it again then (after `max_deliver` attempts the ledger parks it for its
operators). An event already handled, by its id in the seen-store (SQLite unless another is
given), is acked without calling the handler again: a lost ack or a crash between handling and
acking means a repeat, never a second handling. Losing the server is survived: the client
reconnects, and what it held unacked comes again after the consumer's ack wait.

Requires the `nats` extra (`pip install 'caseline-client[nats]'`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from caseline_client.delivery import Delivery, InvalidDeliveryError
from caseline_client.seen import Seen, SqliteSeen

__all__ = ["DEFAULT_STREAM", "AgencyConsumer", "Counts", "Handler", "subscribe"]

log = logging.getLogger("caseline_client.consumer")

DEFAULT_STREAM = "CASELINE_DELIVERIES"
"""The ledger's deliveries' stream (its events' stream `CASELINE` with the suffix `_DELIVERIES`)."""

Handler = Callable[[Delivery], Awaitable[None] | None]
"""Called with each delivery; returns (or its awaitable completes) once the event is handled."""


@dataclass
class Counts:
    """What a consumer did so far."""

    handled: int = 0  # handler returned, acked
    repeats: int = 0  # seen before: acked without calling the handler
    failures: int = 0  # handler raised (or the body was not a delivery): nak'd with a delay


class AgencyConsumer:
    """One agency's durable pull consumer, bound and pulled until `stop()`."""

    def __init__(
        self,
        servers: str | Sequence[str],
        agency: str,
        handler: Handler,
        *,
        password: str | None = None,
        user: str | None = None,
        stream: str = DEFAULT_STREAM,
        durable: str | None = None,
        inbox_prefix: str | None = None,
        seen: Seen | None = None,
        batch: int = 1,
        retry_delay: float = 10.0,
        fetch_timeout: float = 5.0,
        connect_options: Mapping[str, Any] | None = None,
    ) -> None:
        """`seen` defaults to `SqliteSeen("caseline-seen-<agency>.db")` in the working directory.
        `batch` above 1 helps only with a consumer whose `max_ack_pending` is above 1 (the
        ledger makes them with 1: one message in flight keeps each case in order)."""
        self.servers = [servers] if isinstance(servers, str) else list(servers)
        self.agency = agency
        self.handler = handler
        self.user = user or f"agency-{agency}"
        self.password = password
        self.stream = stream
        self.durable = durable or f"agency-{agency}"
        self.inbox_prefix = inbox_prefix or f"_INBOX.{self.user}"
        self.seen: Seen = seen if seen is not None else SqliteSeen(f"caseline-seen-{agency}.db")
        self.batch = max(1, batch)
        self.retry_delay = retry_delay
        self.fetch_timeout = fetch_timeout
        self.connect_options = dict(connect_options or {})
        self.counts = Counts()
        self.bound = asyncio.Event()
        self._stopping = asyncio.Event()
        self._nc: Any = None

    @property
    def connected(self) -> bool:
        """Connected to a server now (while it reconnects, False)."""
        return self._nc is not None and bool(self._nc.is_connected)

    def stop(self) -> None:
        """End `run()` after the fetch in progress (at most `fetch_timeout` seconds)."""
        self._stopping.set()

    async def run(self) -> None:
        """Pull and handle until `stop()`; a failed connection or binding is tried again."""
        pause = 0.5
        while not self._stopping.is_set():
            try:
                await self._session()
                pause = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("deliveries of %s: %s (again in %.1f s)", self.agency, exc, pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
                pause = min(pause * 2, 30.0)

    async def _session(self) -> None:
        import nats
        from nats.errors import TimeoutError as NatsTimeoutError

        options: dict[str, Any] = {
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": 1.0,
            "error_cb": self._on_error,
        }
        options.update(self.connect_options)
        if self.password is not None:
            options.update(user=self.user, password=self.password)
        nc = self._nc = await nats.connect(self.servers, inbox_prefix=self.inbox_prefix, **options)
        try:
            js = nc.jetstream(timeout=10)
            sub = await js.pull_subscribe_bind(self.durable, stream=self.stream)
            window = await self._window(js)
            self.bound.set()
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(window, timeout=self.fetch_timeout)
                except (NatsTimeoutError, TimeoutError):
                    continue
                await self._handle(msgs)
        finally:
            self.bound.clear()
            self._nc = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(nc.close(), 5)

    async def _on_error(self, exc: Exception) -> None:
        # A refusal is a configuration mistake worth seeing; a dropped connection only noise.
        level = logging.WARNING if "permissions violation" in str(exc).lower() else logging.DEBUG
        log.log(level, "NATS: %s", exc)

    async def _window(self, js: Any) -> int:
        """The batch to ask for: no more than the consumer lets be in flight (a larger pull
        would wait out its time for messages the server may not send yet)."""
        if self.batch == 1:
            return 1
        try:
            info = await js.consumer_info(self.stream, self.durable)
        except Exception:
            return self.batch
        limit = int(info.config.max_ack_pending or 0)
        return min(self.batch, limit) if limit > 0 else self.batch

    async def _handle(self, msgs: Sequence[Any]) -> None:
        """In order; after a failure the rest of the batch goes back too, to keep the order."""
        for index, msg in enumerate(msgs):
            if not await self._one(msg):
                for later in msgs[index + 1 :]:
                    with contextlib.suppress(Exception):
                        await later.nak(delay=self.retry_delay)
                return

    async def _one(self, msg: Any) -> bool:
        try:
            delivery = Delivery.from_entry(msg.data)
        except InvalidDeliveryError as exc:
            return await self._failed(msg, f"not a delivery: {exc}")
        if self.seen.seen(delivery.event_id):
            self.counts.repeats += 1
            await msg.ack()
            return True
        try:
            result = self.handler(delivery)
            if inspect.isawaitable(result):
                await result
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._failed(msg, f"ledger_seq {delivery.ledger_seq}: {exc!r}")
        self.seen.add(delivery.event_id)
        await msg.ack()
        self.counts.handled += 1
        return True

    async def _failed(self, msg: Any, why: str) -> bool:
        self.counts.failures += 1
        log.warning(
            "delivery to %s failed, again in %.0f s: %s", self.agency, self.retry_delay, why
        )
        with contextlib.suppress(Exception):  # unacked, it comes again after the ack wait anyway
            await msg.nak(delay=self.retry_delay)
        return False


async def subscribe(
    servers: str | Sequence[str], agency: str, handler: Handler, **options: Any
) -> None:
    """Handle the agency's deliveries until cancelled (options: those of `AgencyConsumer`)."""
    await AgencyConsumer(servers, agency, handler, **options).run()
