"""Envelopes as the services' relays publish them (signed), and NATS read and written directly:
publish messages, read a subject's messages or a whole stream's."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any
from uuid import UUID, uuid4

import nats

from shared.events import CatalogueEvent, Envelope, build_envelope, subject_for
from shared.kit.clock import Clock
from shared.kit.origins import development_key
from shared.kit.settings import Settings


def envelope_bytes(event: CatalogueEvent, subject_id: UUID | str, **kw: Any) -> tuple[str, bytes]:
    """The id and signed JSON bytes of an envelope for `event` about `subject_id`."""
    env = envelope_of(event, subject_id, **kw)
    return str(env.id), signed(env)


def signed_document(env: Envelope) -> dict[str, Any]:
    """The envelope as its service's relay publishes it: signed with its (development) key."""
    return development_key(env.source.rsplit("/", 1)[1]).sign(json.loads(env.to_json_bytes()))


def signed(env: Envelope) -> bytes:
    """The bytes of `signed_document`."""
    return json.dumps(signed_document(env), separators=(",", ":"), ensure_ascii=False).encode()


def publish(settings: Settings, messages: list[tuple[str, bytes, dict[str, str]]]) -> None:
    """Publish (subject without prefix, body, headers) triples to the settings' stream, in order."""

    async def go() -> None:
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        for subject, body, headers in messages:
            await js.publish(settings.subject_prefix + subject, body, headers=headers or None)
        await nc.drain()

    asyncio.run(go())


def subject(event: CatalogueEvent, subject_id: UUID | str) -> str:
    return subject_for(event, subject_id)


def read_subject(settings: Settings, subject: str, expected: int, timeout: float = 30) -> list[Any]:
    """The messages stored on a subject (without prefix) of the settings' stream."""

    async def go() -> list[Any]:
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        sub = await js.pull_subscribe(settings.subject_prefix + subject, stream=settings.stream)
        out: list[Any] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(out) < expected and asyncio.get_running_loop().time() < deadline:
            try:
                out += await sub.fetch(expected - len(out), timeout=1)
            except TimeoutError:
                continue
        await nc.drain()
        return out

    return asyncio.run(go())


async def stream_messages(
    url: str | list[str], stream: str, subjects: str = ">"
) -> list[tuple[str, str]]:
    """Every message of a stream as (subject, Nats-Msg-Id), in stream order."""
    import nats as nats_client
    from nats.errors import TimeoutError as NatsTimeoutError
    from nats.js.errors import ServiceUnavailableError

    nc = await nats_client.connect(url)
    try:
        js = nc.jetstream(timeout=5)
        # Right after a node was killed the stream may still be electing its leader: the
        # JetStream API times out until it has one, so ask again for a while.
        settle = time.monotonic() + 60
        while True:
            try:
                info = await js.stream_info(stream)
                sub = await js.pull_subscribe(subjects, stream=stream)
                break
            except (NatsTimeoutError, ServiceUnavailableError):
                if time.monotonic() > settle:
                    raise
                await asyncio.sleep(1)
        out: list[tuple[str, str]] = []
        deadline = time.monotonic() + 30
        while len(out) < info.state.messages and time.monotonic() < deadline:
            try:
                batch = await sub.fetch(500, timeout=2)
            except TimeoutError:
                continue
            for msg in batch:
                out.append((msg.subject, (msg.headers or {}).get("Nats-Msg-Id", "")))
                await msg.ack()
        await sub.unsubscribe()
        return out
    finally:
        await nc.close()


def envelope_of(event: CatalogueEvent, subject_id: UUID | str, **kw: Any) -> Envelope:
    """An unsealed envelope for `event` about `subject_id`, as a reaction receives it."""
    return build_envelope(
        event,
        event_id=kw.pop("event_id", uuid4()),
        subject=subject_id,
        actor=kw.pop("actor", "tester"),
        agency=kw.pop("agency", "test-agency"),
        recorded_at=kw.pop("recorded_at", Clock().now()),
        **kw,
    )


def delivery(event: CatalogueEvent, subject_id: UUID | str, prefix: str = "", **kw: Any) -> Any:
    """`event` as a consumer receives it from NATS (signed by its service), for `Reactions`."""
    from shared.kit.subscriber import Delivery

    env = envelope_of(event, subject_id, **kw)
    return Delivery(prefix + subject(event, subject_id), signed(env), {}, msg=None)


async def stored_deliveries(settings: Settings) -> list[tuple[str, str, bytes]]:
    """Every message of the agencies' deliveries stream, in order: its subject (without the
    test's prefix), its subject and headers as text, and its body."""
    stream = settings.stream + "_DELIVERIES"
    nc = await nats.connect(settings.nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            msg = await js.get_msg(stream, seq)
            subject = (msg.subject or "").removeprefix(settings.subject_prefix)
            out.append((subject, f"{msg.subject} {msg.headers or {}}", msg.data or b""))
        assert len(out) == info.state.messages
        return out
    finally:
        await nc.close()
