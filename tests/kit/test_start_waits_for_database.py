"""A service started before PostgreSQL waits for it (`wait_for_database`, the first step of every
service's start): it says so with a bounded back-off, goes on once the database answers, and
gives up with a clear reason past `startup_wait_seconds`."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from shared.kit.lifecycle import wait_for_database
from shared.kit.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _forward_later(port: int, target: tuple[str, int], after: float) -> asyncio.Server:
    """A TCP forwarder to the real PostgreSQL that starts listening on `port` after `after` s."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*target)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    await asyncio.sleep(after)
    return await asyncio.start_server(handle, "127.0.0.1", port)


def test_a_start_before_the_database_waits_says_so_and_goes_on_once_it_answers(settings, caplog):
    db = settings.database
    port = _free_port()
    late = settings.model_copy(
        update={
            "database_url": f"postgresql://{db.user}:{db.password}@127.0.0.1:{port}/{db.dbname}"
        }
    )

    async def scenario() -> float:
        server = asyncio.create_task(_forward_later(port, (db.host, db.port), after=2.0))
        try:
            return await wait_for_database(late, "intake", first_delay=0.2, max_delay=0.8)
        finally:
            (await server).close()

    with caplog.at_level(logging.INFO, logger="caseline.http"):
        waited = asyncio.run(scenario())

    waiting = [r.getMessage() for r in caplog.records if "waiting for PostgreSQL" in r.getMessage()]
    assert waited >= 2.0
    assert len(waiting) >= 3
    assert waiting[0].startswith(f"intake: waiting for PostgreSQL at 127.0.0.1:{port} (try 1,")
    assert "next in 0.2 s" in waiting[0] and "next in 0.8 s" in waiting[-1]  # bounded back-off
    assert any("answered after" in r.getMessage() for r in caplog.records)


def test_a_database_that_never_answers_stops_the_start_with_the_reason(caplog):
    port = _free_port()
    never = Settings(
        database_url=f"postgresql://someone:secret@127.0.0.1:{port}/caseline",
        startup_wait_seconds=1.5,
    )

    with pytest.raises(RuntimeError) as stopped:
        asyncio.run(wait_for_database(never, "judicial", first_delay=0.2, max_delay=0.4))

    assert str(stopped.value).startswith(
        f"judicial: PostgreSQL at 127.0.0.1:{port} did not answer within 1.5 s"
    )
    assert "secret" not in str(stopped.value)
    assert "secret" not in caplog.text


def test_a_database_that_answers_is_not_waited_for(settings, caplog):
    with caplog.at_level(logging.INFO, logger="caseline.http"):
        waited = asyncio.run(wait_for_database(settings, "ledger"))

    assert waited < 2
    assert "PostgreSQL" not in caplog.text
