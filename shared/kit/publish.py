"""Publishing a batch to JetStream in order and waiting for every ack, without a future per message.

nats-py's `publish_async` gives each message a semaphore slot, a random token, a future with a
callback and a parsed `PubAck`, and its `publish` rewrites every header value character by
character. The relay needs less: the batch out in order, then one answer, "all stored" or "not".
Here every message of a batch carries the reply subject `<inbox>.<batch>.<index>`; one
subscription counts the acks of the current batch, and the first error (an `{"error": …}` answer,
or a status such as 503 "no responders" when no stream takes the subject) fails the whole batch.
An ack for an older batch, one that timed out, is ignored: that batch is published again with the
same `Nats-Msg-Id`s, which the stream de-duplicates.

Each message is written as the HPUB command `publish` would write, through the same two client
calls (`_send_command`, `_flush_pending`, of the client version `constraints.txt` pins), after
refusing what could break the protocol. It costs a fraction of `publish_async`'s CPU per message
(bench/RESULTS.md has the figures); tests/kit/test_publish.py runs it against a real server.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any

from nats.aio.msg import Msg
from nats.errors import (
    BadHeaderError,
    BadSubjectError,
    ConnectionClosedError,
    MaxPayloadError,
    OutboundBufferLimitError,
)

__all__ = ["BatchPublisher", "PublishError"]


class PublishError(Exception):
    """The stream refused a message of the batch (its answer is the message)."""


class Batch:
    """One batch being published: `send` each message in order, then wait until `acked`."""

    def __init__(self, nc: Any, prefix: str) -> None:
        self._nc = nc
        self._prefix = prefix
        self._sent = 0
        self._stored = 0
        self._all_sent = False
        self.answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        reply = f"{self._prefix}{self._sent}"
        self._sent += 1
        await _write(self._nc, _hpub(subject, reply, headers, body), len(body))

    async def acked(self, within: float) -> None:
        """Return once the stream has stored every message sent (or had it already: a
        duplicate). Raises `PublishError` when it refused one, and `TimeoutError` when not every
        ack came within `within` seconds."""
        self._all_sent = True
        self._settle()
        async with asyncio.timeout(within):  # not `wait_for`: see `shared.kit.pull`
            await asyncio.shield(self.answered)

    def _answer(self, msg: Msg) -> None:
        if self.answered.done():
            return
        error = _refusal(msg)
        if error is not None:
            self.answered.set_exception(PublishError(error))
            return
        self._stored += 1
        self._settle()

    def _settle(self) -> None:
        if self._all_sent and self._stored >= self._sent and not self.answered.done():
            self.answered.set_result(None)


class BatchPublisher:
    """Publishes one batch at a time on one connection and counts its acks."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self._inbox = ""
        self._sub: Any = None
        self._number = 0
        self._current: Batch | None = None

    async def batch(self) -> Batch:
        """A new batch; an earlier one is given up (its late acks are ignored)."""
        if self._sub is None:
            self._inbox = self.nc.new_inbox()
            self._sub = await self.nc.subscribe(f"{self._inbox}.*.*", cb=self._on_answer)
        self._number += 1
        self._current = Batch(self.nc, f"{self._inbox}.{self._number}.")
        return self._current

    async def publish(
        self, messages: Sequence[tuple[str, bytes, dict[str, str]]], within: float
    ) -> None:
        """Send `messages` in order and wait for every ack (see `Batch.acked`)."""
        batch = await self.batch()
        for subject, body, headers in messages:
            await batch.send(subject, body, headers)
        await batch.acked(within)

    async def _on_answer(self, msg: Msg) -> None:
        batch = self._current
        number = msg.subject[len(self._inbox) + 1 :].split(".", 1)[0]
        if batch is not None and number == str(self._number):
            batch._answer(msg)  # not an answer for a batch given up on

    async def close(self) -> None:
        self._current = None
        if self._sub is not None:
            sub, self._sub = self._sub, None
            await sub.unsubscribe()


_UNSAFE = re.compile(r"\s")
_HEADER_KEY = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_KEYS_SEEN: set[str] = set()


def _hpub(subject: str, reply: str, headers: dict[str, str], body: bytes) -> bytes:
    """The HPUB command nats-py's `publish` would write, refusing (not rewriting) what could
    break the protocol: white space in the subject, a line break in a header. (The reply subject
    is this module's own inbox and a number.)"""
    if _UNSAFE.search(subject):
        raise BadSubjectError(subject)
    for key in headers:
        if key not in _KEYS_SEEN:
            if not _HEADER_KEY.fullmatch(key):
                raise BadHeaderError(key)
            _KEYS_SEEN.add(key)
    lines = "".join([f"{key}: {value}\r\n" for key, value in headers.items()])
    if lines.count("\n") != len(headers) or lines.count("\r") != len(headers):
        raise BadHeaderError("a header value holds a line break")
    block = f"NATS/1.0\r\n{lines}\r\n".encode()
    size = len(block)
    return b"HPUB %s %s %d %d\r\n%b%b\r\n" % (
        subject.encode(),
        reply.encode(),
        size,
        size + len(body),
        block,
        body,
    )


async def _write(nc: Any, command: bytes, payload_size: int) -> None:
    """What nats-py's `publish` does with a command once built (client 2.16, pinned)."""
    if nc.is_closed:
        raise ConnectionClosedError
    if payload_size > nc._max_payload:
        raise MaxPayloadError
    if not nc.is_connected and (
        nc._max_pending_size <= 0 or len(command) + nc._pending_data_size > nc._max_pending_size
    ):
        raise OutboundBufferLimitError
    nc.stats["out_msgs"] += 1
    nc.stats["out_bytes"] += payload_size
    await nc._send_command(command)
    if nc._flush_queue is not None and nc._flush_queue.empty():
        await nc._flush_pending()


def _refusal(msg: Msg) -> str | None:
    """Why the stream did not store the message, or None for an ack (a duplicate included)."""
    if msg.headers and msg.headers.get("Status"):
        return f"{msg.headers.get('Status')} {msg.headers.get('Description', '')}".strip()
    if b'"error"' not in msg.data:
        return None
    try:
        answer = json.loads(msg.data)
    except ValueError:
        return f"unreadable answer: {msg.data[:200]!r}"
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict):
        return (
            f"{error.get('code')} {error.get('description', '')} (err_code {error.get('err_code')})"
        )
    return None if error is None else str(error)
