"""An agency's delivery rate beside the raw JetStream consume rate, same server, same run.

The ledger makes each agency's durable consumer with one message in flight (`max_ack_pending: 1`),
so that a message being retried holds back the ones after it and every case arrives in ledger
order. These figures say what that costs: the same stored deliveries consumed raw (a batch in
flight, each acked), one at a time by hand, and through the client kit's `AgencyConsumer` (its
SQLite seen-store included) on the consumer as the ledger makes it and on one with a window of
256; then every registered agency pulling at once, each one in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple
from uuid import uuid4

import nats
from nats.js.api import AckPolicy, ConsumerConfig

from bench.raw import envelope_body
from services.ledger.deliveries import delivery_consumer, delivery_stream
from shared.agencies import Agency, delivery_subject, load_agencies
from shared.kit.bus import Bus
from shared.kit.publish import BatchPublisher
from shared.kit.settings import Settings

__all__ = ["AgencyRates", "agency_rates"]

ROOT = Path(__file__).resolve().parents[1]
WINDOW = 256


class Rate(NamedTuple):
    per_second: float
    cpu_us: float  # µs of the bench process's CPU per message


class AgencyRates(NamedTuple):
    raw: Rate  # durable pull, WINDOW a batch, each acked (nats-py)
    bare_one: Rate  # the ledger's consumer (one in flight): fetch(1), ack, by hand
    kit_one: Rate  # the same consumer through the kit (its SQLite seen-store)
    kit_memory: Rate  # … through the kit with seen ids kept in memory
    kit_window: Rate  # the kit on a consumer with max_ack_pending WINDOW, WINDOW a batch
    agencies: int
    each: float  # all registered agencies pulling at once through the kit: the mean per agency
    total: float  # … and all of them together
    cores: float  # … while the bench process (all of them) kept this many cores busy


def _kit() -> Any:
    """The client kit, from the checkout (it installs on its own, and the bench does not)."""
    kit = str(ROOT / "clients" / "python")
    if kit not in sys.path:
        sys.path.insert(0, kit)
    import caseline_client

    return caseline_client


def _body(seq: int) -> bytes:
    """A delivery as the ledger publishes it: the entry around a realistic event (an arrest)."""
    event = json.loads(envelope_body())
    event["id"] = str(uuid4())
    entry = {
        "ledger_seq": seq, "case_seq": 1, "hash": f"{seq:064x}", "prev_hash": "0" * 64,
        "appended_at": "2026-12-06T10:00:00+00:00", "event": event, "redacted": [],
    }  # fmt: skip
    return json.dumps(entry, separators=(",", ":")).encode()


async def _timed(count: int, work: Any) -> Rate:
    started, cpu = time.monotonic(), time.process_time()
    await work()
    elapsed, used = time.monotonic() - started, time.process_time() - cpu
    return Rate(count / max(elapsed, 1e-9), used / count * 1e6)


class _Bench:
    """A deliveries' stream of its own, shaped as the ledger's, and consumers on it."""

    def __init__(self, url: str, nc: Any) -> None:
        settings = Settings(
            nats_url=url, stream="BENCHDLV", subject_prefix="benchdlv.",
            delivery_stream_max_bytes=1024**3,
        )  # fmt: skip
        self.bus = Bus(settings, "bench")
        self.config = delivery_stream(self.bus)
        self.stream = self.config.name
        self.nc = nc
        self.js = nc.jetstream(timeout=30)

    async def make(self) -> None:
        with contextlib.suppress(Exception):  # not there yet
            await self.js.delete_stream(self.stream)
        await self.js.add_stream(self.config)

    async def fill(self, agency: str, count: int) -> None:
        publisher = BatchPublisher(self.nc)
        for start in range(0, count, 1000):
            await publisher.publish([
                (self.bus.prefixed(delivery_subject(agency, f"caseline.intake.A.{uuid4()}")),
                 _body(seq), {"Nats-Msg-Id": f"{agency}.{seq}"})
                for seq in range(start + 1, min(start + 1000, count) + 1)
            ], 60)  # fmt: skip
        await publisher.close()

    async def consumer(self, agency: str, window: int = 1) -> ConsumerConfig:
        config = delivery_consumer(Agency(agency, "auditor"), self.bus)
        if window != 1:
            config = dataclasses.replace(config, max_ack_pending=window)
        await self.js.add_consumer(self.stream, config)
        return config

    async def raw(self, agency: str, count: int) -> None:
        config = ConsumerConfig(
            durable_name=f"raw-{agency}", filter_subject=self.bus.prefixed(f"deliver.{agency}.>"),
            ack_policy=AckPolicy.EXPLICIT, max_ack_pending=WINDOW * 4,
        )  # fmt: skip
        await self.js.add_consumer(self.stream, config)
        sub = await self.js.pull_subscribe_bind(config.durable_name, stream=self.stream)
        seen = 0
        while seen < count:
            for msg in await sub.fetch(WINDOW, timeout=5):
                await msg.ack()
                seen += 1

    async def bare_one(self, agency: str, count: int) -> None:
        config = await self.consumer(agency)
        sub = await self.js.pull_subscribe_bind(config.durable_name, stream=self.stream)
        for _ in range(count):
            (msg,) = await sub.fetch(1, timeout=5)
            await msg.ack()

    async def kit(
        self, agency: str, count: int, window: int, directory: Path | None = None
    ) -> None:
        """Through the kit; seen ids in SQLite in `directory`, else in memory."""
        kit = _kit()
        config = await self.consumer(agency, window)
        done = {"n": 0}

        def handler(delivery: Any) -> None:
            done["n"] += 1
            if done["n"] == count:
                consumer.stop()

        consumer = kit.AgencyConsumer(
            self.bus.settings.nats_url, agency, handler, stream=self.stream,
            durable=config.durable_name,
            seen=kit.SqliteSeen(directory / f"{agency}.db") if directory else kit.MemorySeen(),
            batch=window, fetch_timeout=1.0,
        )  # fmt: skip
        await consumer.run()
        assert consumer.counts.handled == count, consumer.counts


async def agency_rates(url: str, count: int) -> AgencyRates:
    """Each way of consuming `count` deliveries of one agency, then every registered agency at
    once with `count` / their number each."""
    registered = [a.id for a in load_agencies(ROOT / "deploy" / "agencies.yaml")]
    nc = await nats.connect(url)
    directory = Path(tempfile.mkdtemp(prefix="caseline-bench-agencies-"))
    try:
        bench = _Bench(url, nc)
        await bench.make()
        share = max(1, count // len(registered))
        for agency in ("raw", "bare", "kit-one", "kit-memory", "kit-window"):
            await bench.fill(agency, count)
        for agency in registered:
            await bench.fill(agency, share)
        raw = await _timed(count, lambda: bench.raw("raw", count))
        bare = await _timed(count, lambda: bench.bare_one("bare", count))
        one = await _timed(count, lambda: bench.kit("kit-one", count, 1, directory))
        memory = await _timed(count, lambda: bench.kit("kit-memory", count, 1))
        window = await _timed(count, lambda: bench.kit("kit-window", count, WINDOW, directory))
        started, cpu = time.monotonic(), time.process_time()
        await asyncio.gather(*(bench.kit(a, share, 1, directory) for a in registered))
        elapsed = max(time.monotonic() - started, 1e-9)
        cores = (time.process_time() - cpu) / elapsed
        await bench.js.delete_stream(bench.stream)
        total = share * len(registered) / elapsed
        return AgencyRates(
            raw, bare, one, memory, window, len(registered), total / len(registered), total, cores
        )
    finally:
        await nc.close()
        shutil.rmtree(directory, ignore_errors=True)
