"""A batch fetch from a JetStream pull consumer without an asyncio task per message.

nats-py's `PullSubscription.fetch` waits for each message of a batch with `next_msg`, which
creates a task and a timer for every message (bench/RESULTS.md measures the difference). This
fetch takes the batch from the subscription's queue as it comes and awaits the queue only when it
is empty.

It asks the server for a batch with a no-wait pull, which the server answers at once with what it
has and ends with a status when that is less. Only when nothing is there does it wait, with a pull
for one message; what came after that one is asked for again without waiting. So when it returns,
no pull of its own is still being answered, and a message the caller gives back (a NAK) cannot be
overtaken by a later one delivered to an old pull. (Only after the server failed to answer within
the time can part of an answer come late; the next fetch takes it first, in order.)

It reads three attributes of nats-py's pull subscription (`_sub`, `_nms`, `_deliver`), a version
of which `constraints.txt` pins; tests/kit/test_pull.py runs it against a real server.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import api
from nats.js.errors import APIError

__all__ = ["fetch"]

_ENDS = (api.StatusCode.NO_MESSAGES, api.StatusCode.REQUEST_TIMEOUT, api.StatusCode.CONFLICT)
_HEARTBEAT = api.StatusCode.CONTROL_MESSAGE


class _Batch:
    """The messages of one fetch, taken from the subscription's queue."""

    def __init__(self, psub: Any, size: int) -> None:
        self.psub = psub
        self.sub = psub._sub
        self.queue: asyncio.Queue[Msg] = psub._sub._pending_queue
        self.size = size
        self.msgs: list[Msg] = []

    def accept(self, msg: Msg) -> bool:
        """Keep a message; True when it is the status that ends a pull."""
        self.sub._pending_size -= len(msg.data)
        headers = msg.headers
        status = headers.get(api.Header.STATUS) if headers else None
        if status is None:
            self.msgs.append(msg)
            return False
        if status in _ENDS:
            return True
        if status == _HEARTBEAT:
            return False
        raise APIError.from_msg(msg)

    def take_leftovers(self) -> None:
        """What an earlier pull delivered after its fetch gave up: it goes first; the status
        that ended that pull says nothing about the next."""
        while not self.queue.empty() and len(self.msgs) < self.size:
            self.accept(self.queue.get_nowait())

    async def pull(self, within: float, *, wait: bool = False) -> bool:
        """Ask for the rest of the batch (or, `wait`ing on the server, for one message) and take
        the answer until its end: a status or the count asked for. False when `within` seconds
        passed first."""
        target = len(self.msgs) + 1 if wait else self.size
        request: dict[str, Any] = {"batch": target - len(self.msgs)}
        if wait:  # the server ends the pull just before we would stop waiting for it
            request["expires"] = max(int(within * 1e9) - 10_000_000, 1_000_000)
        else:
            request["no_wait"] = True
        psub = self.psub
        await psub._nc.publish(psub._nms, json.dumps(request).encode(), psub._deliver)
        deadline = time.monotonic() + within
        while len(self.msgs) < target:
            if not self.queue.empty():
                msg = self.queue.get_nowait()
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                try:
                    # Not `asyncio.wait_for`: before Python 3.12 it loses a cancellation that
                    # comes as the message does, and a stopping consumer would go on fetching.
                    async with asyncio.timeout(remaining):
                        msg = await self.queue.get()
                except TimeoutError:
                    return False
            if self.accept(msg):
                break
        return True


async def fetch(psub: Any, batch: int, within: float) -> list[Msg]:
    """Up to `batch` messages, in stream order: those the server has now, or else the first to
    come within `within` seconds and those that came after it. Raises `nats.errors.TimeoutError`
    when none came, and `APIError` for a status the server means as an error (a deleted
    consumer), as `PullSubscription.fetch` does."""
    taken = _Batch(psub, batch)
    taken.take_leftovers()
    if len(taken.msgs) >= batch:
        return taken.msgs
    if not await taken.pull(within) or taken.msgs:
        return taken.msgs
    if await taken.pull(within, wait=True) and taken.msgs and batch > 1:
        await taken.pull(within)
    if not taken.msgs:
        raise NatsTimeoutError
    return taken.msgs
