"""The kit's batch publisher (shared/kit/publish.py) against a real JetStream: in order, every ack
counted for its own batch, and a refusal is an error, never a silent loss."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from nats.errors import BadHeaderError, BadSubjectError
from nats.js.api import StreamConfig

from shared.kit.publish import BatchPublisher, PublishError
from tests.support.bus import stream_messages


@pytest.fixture
async def stream(servers) -> AsyncIterator[tuple[Any, str, BatchPublisher]]:  # type: ignore[no-untyped-def]
    nc = await nats.connect(servers.nats_url)
    js = nc.jetstream(timeout=10)
    name = f"PUB_{uuid.uuid4().hex[:10]}"
    await js.add_stream(StreamConfig(name=name, subjects=[f"{name.lower()}.>"]))
    publisher = BatchPublisher(nc)
    try:
        yield js, name, publisher
    finally:
        await publisher.close()
        await js.delete_stream(name)
        await nc.close()


def _messages(name: str, ids: list[str]) -> list[tuple[str, bytes, dict[str, str]]]:
    return [(f"{name.lower()}.e.{i}", i.encode(), {"Nats-Msg-Id": i}) for i in ids]


async def test_a_batch_is_stored_whole_and_in_order_when_it_returns(stream, servers):
    js, name, publisher = stream
    ids = [str(n) for n in range(600)]

    await publisher.publish(_messages(name, ids[:300]), 10)
    await publisher.publish(_messages(name, ids[300:]), 10)

    info = await js.stream_info(name)
    assert info.state.messages == 600
    stored = await stream_messages(servers.nats_url, name)
    assert [msg_id for _, msg_id in stored] == ids


async def test_a_batch_published_again_is_acknowledged_and_stored_once(stream):
    js, name, publisher = stream
    ids = [str(uuid.uuid4()) for _ in range(20)]

    await publisher.publish(_messages(name, ids), 10)
    await publisher.publish(_messages(name, ids), 10)  # as after a crash before the position

    assert (await js.stream_info(name)).state.messages == 20


async def test_a_subject_no_stream_takes_fails_the_batch(stream):
    _, name, publisher = stream
    messages = [*_messages(name, ["a"]), ("nowhere.at.all", b"x", {"Nats-Msg-Id": "b"})]

    with pytest.raises(PublishError, match="503"):
        await publisher.publish(messages, 10)


async def test_a_message_the_stream_refuses_fails_the_batch_with_its_reason(stream):
    js, name, publisher = stream
    wrong = {"Nats-Msg-Id": "c", "Nats-Expected-Stream": "SOME_OTHER_STREAM"}
    messages = [*_messages(name, ["a", "b"]), (f"{name.lower()}.e.c", b"x", wrong)]

    with pytest.raises(PublishError, match="expected stream"):
        await publisher.publish(messages, 10)
    assert (await js.stream_info(name)).state.messages == 2


async def test_acks_of_a_batch_given_up_on_do_not_count_for_the_next(stream):
    _, name, publisher = stream
    abandoned = await publisher.batch()
    for subject, body, headers in _messages(name, [str(n) for n in range(50)]):
        await abandoned.send(subject, body, headers)
    # The next batch starts before those acks come; its one message goes nowhere, so only its
    # own answer (a refusal) may settle it, however many of the older acks arrive meanwhile.
    current = await publisher.batch()
    await current.send("nowhere.at.all", b"x", {"Nats-Msg-Id": "z"})

    with pytest.raises(PublishError):
        await current.acked(10)


@pytest.mark.parametrize(
    ("subject", "headers", "refusal"),
    [
        ("pub.e.a b", {"Nats-Msg-Id": "a"}, BadSubjectError),
        ("pub.e.a\r\nPUB x 1", {"Nats-Msg-Id": "a"}, BadSubjectError),
        ("pub.e.a", {"Nats-Msg-Id": "a\r\nPUB x 1\r\n"}, BadHeaderError),
        ("pub.e.a", {"Nats-Msg-Id": "a\n"}, BadHeaderError),
        ("pub.e.a", {"Bad Key": "a"}, BadHeaderError),
    ],
)
async def test_what_could_break_the_protocol_is_refused_before_it_is_sent(
    stream, subject, headers, refusal
):
    js, name, publisher = stream
    batch = await publisher.batch()

    with pytest.raises(refusal):
        await batch.send(subject.replace("pub", name.lower(), 1), b"x", headers)
    await publisher.publish(_messages(name, ["fine"]), 10)

    assert (await js.stream_info(name)).state.messages == 1
