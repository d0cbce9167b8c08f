"""A fair raw limit: a bare fan-out pipeline doing the same I/O as one command of the stack.

One HTTP request (uvicorn with the services' loop and parser, a bare ASGI function, no framework)
whose bearer token is checked as the services check it (`shared.kit.auth.decode_token`); one
insert in a transaction of its own; one JetStream publish with `Nats-Msg-Id`, its ack awaited
before the answer. Then as many durable pull consumers as the stack has services reading the
bus (judicial, assessment, programmes, intake and the ledger), each fetching 256 at a time,
inserting them in one transaction and acking them; the ledger's also chains a SHA-256 over each
envelope's RFC 8785 bytes, as the ledger hashes its entries. The server and the consumers run in
two processes of their own, beside the bench's clients, as the stack's do.

A command counts once every consumer has inserted it: the rate is commands a second end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import subprocess
import sys
import time
from typing import Any
from uuid import uuid4

import httpx
import psycopg

__all__ = ["CONSUMERS", "fan_out"]

STREAM, SUBJECTS = "BENCH_FANOUT", "fanout.>"
CONSUMERS = ("intake", "judicial", "assessment", "programmes", "ledger")


def _tables(conninfo: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name in ("fanout_commands", *(f"fanout_{c}" for c in CONSUMERS)):
            conn.execute(f"DROP TABLE IF EXISTS {name}")
            conn.execute(f"CREATE TABLE {name} (id uuid PRIMARY KEY, body jsonb NOT NULL)")


def _serve(conninfo: str, url: str, port: int) -> None:
    """The bare HTTP service: token, insert, publish, answer."""
    import nats
    import uvicorn
    from psycopg_pool import AsyncConnectionPool

    from shared.kit.auth import decode_token
    from shared.kit.settings import Settings

    settings = Settings()
    parts: dict[str, Any] = {}
    insert = "INSERT INTO fanout_commands (id, body) VALUES (%s, %s)"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    parts["nc"] = await nats.connect(url)
                    parts["js"] = parts["nc"].jetstream(timeout=10)
                    parts["pool"] = AsyncConnectionPool(
                        conninfo, min_size=8, max_size=8, open=False
                    )
                    await parts["pool"].open()
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await parts["pool"].close()
                    await parts["nc"].close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        try:
            decode_token(token, settings)
        except Exception:
            await _answer(send, 401, b'{"title":"Unauthorized"}')
            return
        document = json.loads(body)
        event_id = uuid4()
        async with parts["pool"].connection() as conn:
            await conn.execute(insert, (event_id, json.dumps(document)))
        await parts["js"].publish(
            f"fanout.e.{event_id}", body, headers={"Nats-Msg-Id": str(event_id)}
        )
        await _answer(send, 201, json.dumps({"event_id": str(event_id)}).encode())

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
        loop="asyncio", http="httptools", lifespan="on",
    )  # fmt: skip


async def _answer(send: Any, status: int, body: bytes) -> None:
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _consume(conninfo: str, url: str) -> None:
    """Every consumer, each on its own durable consumer and connection, in one process, until
    it is stopped."""
    asyncio.run(_consumers(conninfo, url))


async def _consumers(conninfo: str, url: str) -> None:
    import nats
    import rfc8785

    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)

    async def one(name: str) -> None:
        sub = await js.pull_subscribe_bind(name, stream=STREAM)
        insert = f"INSERT INTO fanout_{name} (id, body) VALUES (%s, %s)"
        head = b"\x00" * 32
        async with await psycopg.AsyncConnection.connect(conninfo) as conn:
            while True:
                try:
                    msgs = await sub.fetch(256, timeout=1)
                except TimeoutError:
                    continue
                rows = [((m.headers or {})["Nats-Msg-Id"], m.data.decode()) for m in msgs]
                if name == "ledger":
                    for m in msgs:
                        canonical = rfc8785.dumps(json.loads(m.data))
                        head = hashlib.sha256(head + hashlib.sha256(canonical).digest()).digest()
                async with conn.cursor() as cur:
                    await cur.executemany(insert, rows)
                await conn.commit()
                for m in msgs:
                    await m.ack()

    try:
        await asyncio.gather(*(one(name) for name in CONSUMERS))
    finally:
        await nc.close()


def _process(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.fanout", *args])


async def _until_up(http: httpx.AsyncClient, port: int, server: Any) -> None:
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("the bare fan-out server stopped")
        with contextlib.suppress(httpx.HTTPError):
            await http.get(f"http://127.0.0.1:{port}/")
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("the bare fan-out server did not start")


async def _until_pulling(js: Any, consumers: Any) -> None:
    """Until every consumer waits on a pull: the clock starts with the pipeline in place."""
    for _ in range(600):
        if consumers.poll() is not None:
            raise RuntimeError("the bare fan-out consumers stopped")
        infos = [await js.consumer_info(STREAM, name) for name in CONSUMERS]
        if all((i.num_waiting or 0) > 0 for i in infos):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the bare fan-out consumers did not start")


async def _until_drained(js: Any, deadline: float) -> None:
    """Until every consumer has inserted and acked everything published."""
    while time.monotonic() < deadline:
        infos = [await js.consumer_info(STREAM, name) for name in CONSUMERS]
        if all((i.num_pending or 0) + (i.num_ack_pending or 0) == 0 for i in infos):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the bare fan-out consumers did not drain")


async def fan_out(
    conninfo: str, url: str, port: int, tokens: list[str], body: bytes, seconds: float
) -> float:
    """Commands a second through the bare fan-out pipeline, `len(tokens)` concurrent clients."""
    import nats
    from nats.js.api import AckPolicy, ConsumerConfig

    from bench.raw import fresh_stream

    _tables(conninfo)
    nc = await nats.connect(url)
    try:
        js = await fresh_stream(nc, STREAM, SUBJECTS)
        for name in CONSUMERS:
            config = ConsumerConfig(
                durable_name=name, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=256
            )
            await js.add_consumer(STREAM, config)
        server = _process("serve", conninfo, url, str(port))
        consumers = _process("consume", conninfo, url)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                await _until_up(http, port, server)
                await _until_pulling(js, consumers)
                answered = 0
                started = time.monotonic()
                stop_at = started + seconds

                async def client(token: str) -> None:
                    nonlocal answered
                    headers = {"Authorization": f"Bearer {token}",
                               "Content-Type": "application/json"}  # fmt: skip
                    while time.monotonic() < stop_at:
                        answer = await http.post(
                            f"http://127.0.0.1:{port}/commands", content=body, headers=headers
                        )
                        if answer.status_code == 201:
                            answered += 1

                await asyncio.gather(*(client(t) for t in tokens))
            await _until_drained(js, started + seconds + 60)
            return answered / max(time.monotonic() - started, 1e-9)
        finally:
            for process in (server, consumers):
                process.terminate()
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(process.wait, 10)
            with contextlib.suppress(Exception):
                await js.delete_stream(STREAM)
    finally:
        await nc.close()


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        _serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        _consume(sys.argv[2], sys.argv[3])
