"""The kit's NATS parts beside nats-py's own, on the same server in the same run.

The relay publishes through `shared.kit.publish.BatchPublisher` and every consumer fetches through
`shared.kit.pull.fetch`, instead of nats-py's `publish_async` and `PullSubscription.fetch`: these
figures show what each costs per message, the same messages over the same stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple
from uuid import uuid4

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from bench.raw import fresh_stream
from shared.kit.publish import BatchPublisher
from shared.kit.pull import fetch

__all__ = ["Rate", "consuming", "publishing"]

STREAM, SUBJECTS = "BENCH_PARTS", "benchparts.>"


class Rate(NamedTuple):
    per_second: float  # messages a second
    cpu_us: float  # µs of this process's CPU per message


async def _timed(count: int, work: Callable[[], Awaitable[None]]) -> Rate:
    started, cpu = time.monotonic(), time.process_time()
    await work()
    elapsed, used = time.monotonic() - started, time.process_time() - cpu
    return Rate(count / max(elapsed, 1e-9), used / count * 1e6)


def _messages(body: bytes, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    return [
        (f"benchparts.e.{uuid4()}", body,
         {"Nats-Msg-Id": str(uuid4()), "Content-Type": "application/cloudevents+json"})
        for _ in range(count)
    ]  # fmt: skip


async def publishing(url: str, body: bytes, count: int, batch: int = 256) -> dict[str, Rate]:
    """`count` messages published `batch` at a time, every ack awaited per batch: nats-py's
    `publish_async`, then the kit's `BatchPublisher`."""
    nc = await nats.connect(url)
    try:
        js = await fresh_stream(nc, STREAM, SUBJECTS)
        publisher = BatchPublisher(nc)
        first, second = _messages(body, count), _messages(body, count)

        async def nats_py() -> None:
            for start in range(0, count, batch):
                chunk = first[start : start + batch]
                acks = [await js.publish_async(s, b, headers=h) for s, b, h in chunk]
                await asyncio.wait_for(asyncio.gather(*acks), 30)

        async def kit() -> None:
            for start in range(0, count, batch):
                await publisher.publish(second[start : start + batch], 30)

        rates = {"nats-py publish_async": await _timed(count, nats_py)}
        rates["kit BatchPublisher"] = await _timed(count, kit)
        await publisher.close()
        await js.delete_stream(STREAM)
        return rates
    finally:
        await nc.close()


async def consuming(url: str, body: bytes, count: int, batch: int = 1024) -> dict[str, Rate]:
    """`count` stored messages consumed `batch` at a time by a durable pull consumer, reading each
    one's metadata and acking it: nats-py's `fetch`, then the kit's `fetch`."""
    nc = await nats.connect(url)
    try:
        js = await fresh_stream(nc, STREAM, SUBJECTS)
        await BatchPublisher(nc).publish(_messages(body, count), 60)

        async def drain(durable: str, take: Callable[[Any], Awaitable[list[Any]]]) -> None:
            config = ConsumerConfig(
                durable_name=durable, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=batch
            )
            await js.add_consumer(STREAM, config)
            sub = await js.pull_subscribe_bind(durable, stream=STREAM)
            seen = 0
            while seen < count:
                msgs = await take(sub)
                for msg in msgs:
                    _ = msg.metadata.sequence.stream
                    await msg.ack()
                seen += len(msgs)

        rates = {
            "nats-py fetch": await _timed(
                count, lambda: drain("nats_py", lambda sub: sub.fetch(batch, timeout=5))
            ),
            "kit fetch": await _timed(
                count, lambda: drain("kit", lambda sub: fetch(sub, batch, 5))
            ),
        }
        await js.delete_stream(STREAM)
        return rates
    finally:
        await nc.close()
