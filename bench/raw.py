"""The raw limits, measured in the same run on the same servers: what no framework could beat.

A bare psycopg loop (one row per transaction), bare JetStream publishing (one at a time and
pipelined like the relay), a bare pipeline doing one command's work end to end (insert, publish,
consume, insert), and a bare batched insert — so Caseline's figures are ratios, not times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import nats
import psycopg
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

__all__ = [
    "batched_insert",
    "envelope_body",
    "fresh_stream",
    "nats_pipelined",
    "nats_sync",
    "psycopg_loop",
    "raw_pipeline",
]

STREAM, SUBJECT = "BENCH_RAW", "bench.raw"


def _envelope() -> bytes:
    from datetime import UTC, datetime

    from bench.scenario import Case, arrest_body
    from shared.events import ArrestRecorded, build_envelope

    data = ArrestRecorded.model_validate(arrest_body(Case.new(1, {})))
    envelope = build_envelope(
        data, event_id=uuid4(), subject=str(uuid4()), actor="bench", agency="bench",
        recorded_at=datetime.now(UTC),
    )  # fmt: skip
    return envelope.to_json_bytes()


BODY = b""


def envelope_body() -> bytes:
    """One realistic envelope (an arrest), as the relay publishes it."""
    global BODY
    if not BODY:
        BODY = _envelope()
    return BODY


def _table(conninfo: str, name: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")
        conn.execute(f"CREATE TABLE {name} (id uuid PRIMARY KEY, body jsonb NOT NULL)")


def psycopg_loop(conninfo: str, clients: int, seconds: float) -> float:
    """Rows a second committed one per transaction by `clients` connections."""
    _table(conninfo, "raw_rows")
    body = json.dumps(json.loads(envelope_body()))
    counts = [0] * clients
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        with psycopg.connect(conninfo) as conn:
            while time.monotonic() < stop_at:
                conn.execute("INSERT INTO raw_rows (id, body) VALUES (%s, %s)", (uuid4(), body))
                conn.commit()
                counts[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


async def fresh_stream(nc: Any, name: str, subjects: str) -> Any:
    """A JetStream context on an empty file stream `name` (deleted first if it was there)."""
    js = nc.jetstream(timeout=10)
    with contextlib.suppress(Exception):
        await js.delete_stream(name)
    config = StreamConfig(
        name=name, subjects=[subjects], storage=StorageType.FILE, duplicate_window=120
    )
    await js.add_stream(config)
    return js


async def _stream(url: str) -> tuple[Any, Any]:
    nc = await nats.connect(url)
    return nc, await fresh_stream(nc, STREAM, "bench.>")


async def nats_sync(url: str, seconds: float) -> float:
    """Messages a second published one at a time, each acknowledged before the next."""
    nc, js = await _stream(url)
    body, count = envelope_body(), 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            await js.publish(SUBJECT, body, headers={"Nats-Msg-Id": str(uuid4())})
            count += 1
        return count / (time.monotonic() - started)
    finally:
        await nc.close()


async def nats_pipelined(url: str, seconds: float, window: int) -> float:
    """Messages a second published like the relay: a batch sent in order, its acks awaited."""
    nc, js = await _stream(url)
    body, count = envelope_body(), 0
    try:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            futures = [
                await js.publish_async(SUBJECT, body, headers={"Nats-Msg-Id": str(uuid4())})
                for _ in range(window)
            ]
            await asyncio.wait_for(asyncio.gather(*futures), timeout=30)
            count += window
        return count / (time.monotonic() - started)
    finally:
        await nc.close()


async def raw_pipeline(conninfo: str, url: str, clients: int, seconds: float) -> float:
    """Commands a second done end to end by hand: insert a row, publish and await the ack; one
    consumer fetching 256, inserting them in one transaction, acking."""
    _table(conninfo, "raw_commands")
    _table(conninfo, "raw_sink")
    nc, js = await _stream(url)
    await js.add_consumer(STREAM, ConsumerConfig(durable_name="raw", ack_policy=AckPolicy.EXPLICIT))
    counts = {"produced": 0, "consumed": 0}
    stop_at = time.monotonic() + seconds
    started = time.monotonic()

    async def producer() -> None:
        body = envelope_body()
        text = json.dumps(json.loads(body))
        insert = "INSERT INTO raw_commands (id, body) VALUES (%s, %s)"
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            while time.monotonic() < stop_at:
                event_id = uuid4()
                await conn.execute(insert, (event_id, text))
                await conn.commit()
                await js.publish(SUBJECT, body, headers={"Nats-Msg-Id": str(event_id)})
                counts["produced"] += 1

    try:
        consumer = _sink(js, conninfo, counts, stop_at)
        await asyncio.gather(consumer, *(producer() for _ in range(clients)))
        return counts["consumed"] / (time.monotonic() - started)
    finally:
        await nc.close()


async def _sink(js: Any, conninfo: str, counts: dict[str, int], stop_at: float) -> None:
    """The pipeline's consumer: 256 at a time, one transaction, then the acks."""
    sub = await js.pull_subscribe_bind("raw", stream=STREAM)
    insert = "INSERT INTO raw_sink (id, body) VALUES (%s, %s)"
    async with await psycopg.AsyncConnection.connect(conninfo) as conn:
        while time.monotonic() < stop_at or counts["consumed"] < counts["produced"]:
            try:
                msgs = await sub.fetch(256, timeout=1)
            except TimeoutError:
                continue
            async with conn.cursor() as cur:
                rows = [(m.headers["Nats-Msg-Id"], m.data.decode()) for m in msgs]
                await cur.executemany(insert, rows)
            await conn.commit()
            for m in msgs:
                await m.ack()
            counts["consumed"] += len(msgs)


def batched_insert(
    conninfo: str, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> float:
    """Rows a second inserted 256 to a transaction into `table` (a copy of the ledger's)."""
    placeholders = ", ".join(["%s"] * len(columns))
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
    started = time.monotonic()
    with psycopg.connect(conninfo) as conn:
        for first in range(0, len(rows), 256):
            with conn.cursor() as cur:
                cur.executemany(statement, rows[first : first + 256])
            conn.commit()
    return len(rows) / max(time.monotonic() - started, 1e-9)


LEDGER_INSERT_TRIES = 3


def ledger_rows_insert(conninfo: str, first_seq: int, count: int | None = None) -> float:
    """Rows a second of the ledger's entries from `first_seq` on (`count` of them, or all)
    inserted bare, 256 a transaction, into a copy of the ledger's table: the best of
    `LEDGER_INSERT_TRIES`, each into a new copy."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'ledger'"
                " AND table_name = 'entries' ORDER BY ordinal_position"
            )
        ]
        rows = conn.execute(
            f"SELECT {', '.join(columns)} FROM ledger.entries"
            " WHERE ledger_seq >= %s ORDER BY ledger_seq LIMIT %s",
            (first_seq, count),
        ).fetchall()
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench_raw")
    rates = []
    for _ in range(LEDGER_INSERT_TRIES):
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS bench_raw.entries")
            conn.execute(
                "CREATE TABLE bench_raw.entries (LIKE ledger.entries INCLUDING DEFAULTS"
                " INCLUDING CONSTRAINTS INCLUDING INDEXES)"
            )
        rates.append(batched_insert(conninfo, "bench_raw.entries", columns, rows))
    return max(rates)
