"""Helpers for tests that talk to NATS directly: publish envelopes, read a subject's messages."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

import nats

from shared.events import CatalogueEvent, Envelope, build_envelope, subject_for
from shared.kit.clock import Clock
from shared.kit.origins import development_key
from shared.kit.settings import Settings


def envelope_bytes(event: CatalogueEvent, subject_id: UUID | str, **kw: Any) -> tuple[str, bytes]:
    """The id and JSON bytes of an envelope for `event` about `subject_id`."""
    event_id = kw.pop("event_id", uuid4())
    env = build_envelope(
        event,
        event_id=event_id,
        subject=subject_id,
        actor=kw.pop("actor", "tester"),
        agency=kw.pop("agency", "test-agency"),
        recorded_at=kw.pop("recorded_at", Clock().now()),
        **kw,
    )
    return str(event_id), signed(env)


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
