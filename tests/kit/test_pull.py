"""The kit's batch fetch (shared/kit/pull.py) against a real JetStream: every message once, in
stream order, whatever the batches and however late a pull is answered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from nats.js.errors import APIError

from shared.kit.pull import fetch


@pytest.fixture
async def stream(servers) -> AsyncIterator[tuple[Any, str]]:  # type: ignore[no-untyped-def]
    nc = await nats.connect(servers.nats_url)
    js = nc.jetstream(timeout=10)
    name = f"PULL_{uuid.uuid4().hex[:10]}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    await js.add_consumer(
        name, ConsumerConfig(durable_name="c", ack_policy=AckPolicy.EXPLICIT, max_ack_pending=-1)
    )
    try:
        yield js, name
    finally:
        await js.delete_stream(name)
        await nc.close()


async def _publish(js: Any, name: str, first: int, count: int) -> None:
    subject = f"{name.lower()}.m"
    acks = [await js.publish_async(subject, str(i).encode()) for i in range(first, first + count)]
    await asyncio.gather(*acks)


async def _consume(psub: Any, batch: int, expected: int) -> list[int]:
    seen: list[int] = []
    while len(seen) < expected:
        msgs = await fetch(psub, batch, 2.0)
        assert 0 < len(msgs) <= batch
        for msg in msgs:
            seen.append(int(msg.data))
            await msg.ack()
    return seen


async def test_a_backlog_comes_whole_and_in_order_in_batches_of_at_most_the_size(stream):
    js, name = stream
    await _publish(js, name, 0, 1000)
    psub = await js.pull_subscribe_bind("c", stream=name)

    seen = await _consume(psub, 64, 1000)

    assert seen == list(range(1000))
    with pytest.raises(NatsTimeoutError):
        await fetch(psub, 64, 0.3)


async def test_an_empty_consumer_waits_for_the_first_message_then_returns_with_it(stream):
    js, name = stream
    psub = await js.pull_subscribe_bind("c", stream=name)

    async def later() -> None:
        await asyncio.sleep(0.3)
        await _publish(js, name, 0, 3)

    started = time.monotonic()
    publishing = asyncio.ensure_future(later())
    msgs = await fetch(psub, 256, 5.0)
    waited = time.monotonic() - started
    await publishing

    assert [int(m.data) for m in msgs][:1] == [0]
    assert waited < 4.5  # it returned with the first messages, not at the end of its pull


async def test_nothing_within_the_time_raises_the_client_timeout(stream):
    js, name = stream
    psub = await js.pull_subscribe_bind("c", stream=name)

    with pytest.raises(NatsTimeoutError):
        await fetch(psub, 16, 0.3)


async def test_when_a_waiting_fetch_returns_no_pull_of_its_own_is_left_to_deliver_more(stream):
    js, name = stream
    psub = await js.pull_subscribe_bind("c", stream=name)
    waiting = asyncio.ensure_future(fetch(psub, 100, 5.0))
    await asyncio.sleep(0.2)
    await _publish(js, name, 0, 1)
    first = await waiting
    await _publish(js, name, 1, 50)
    await asyncio.sleep(0.3)

    assert [int(m.data) for m in first] == [0]
    assert psub.pending_msgs == 0  # nothing delivered that no fetch asked for
    for m in first:
        await m.ack()
    assert await _consume(psub, 100, 50) == list(range(1, 51))


async def test_messages_given_back_come_again_before_later_ones(stream):
    js, name = stream
    await _publish(js, name, 0, 10)
    psub = await js.pull_subscribe_bind("c", stream=name)
    msgs = await fetch(psub, 10, 2.0)
    for m in msgs[:5]:
        await m.ack()
    for m in msgs[5:]:
        await m.nak()
    await _publish(js, name, 10, 10)

    assert await _consume(psub, 4, 15) == list(range(5, 20))


async def test_a_deleted_consumer_is_an_error_not_an_empty_batch(stream):
    # The subscriber then sets its consumer up again (as with nats-py's own fetch).
    js, name = stream
    psub = await js.pull_subscribe_bind("c", stream=name)
    await js.delete_consumer(name, "c")

    with pytest.raises(APIError):
        await fetch(psub, 16, 0.5)
