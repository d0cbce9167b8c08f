"""What the bench runs against: its own PostgreSQL, NATS and service processes, and the ledger feed.

Unless `CASELINE_DATABASE_URL` / `CASELINE_NATS_URL` are set, the bench starts an embedded
PostgreSQL (durable: fsync on, as in production) and a nats-server, then every installed service
as its own process (`caseline up`'s `Stack`) on a free block of ports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from caseline.stack import Stack
from shared.kit.auth import mint_token
from shared.kit.servers import EmbeddedPostgres, NatsServer, free_port
from shared.kit.settings import DatabaseParts, Settings
from shared.kit.testing import fresh_database

__all__ = ["Environment", "LedgerFeed", "free_base_port", "peak_rss_mb", "scratch_database"]


@contextlib.contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """The URL of a new database for one benchmark of a part alone: on the server of
    `CASELINE_DATABASE_URL` if set, else on an embedded PostgreSQL started for it and stopped
    after (fsync on, as in production)."""
    base, postgres = os.environ.get("CASELINE_DATABASE_URL"), None
    if not base:
        postgres = EmbeddedPostgres(Path(tempfile.mkdtemp(prefix="caseline-bench-")) / "pg").start()
        base = postgres.url
    try:
        yield fresh_database(base, name)
    finally:
        if postgres is not None:
            postgres.stop()


def free_base_port() -> int:
    """A base port whose five service ports (base+1 … base+5) are free right now."""
    for _ in range(50):
        base = free_port() // 10 * 10
        if base + 5 < 65000 and all(_free(base + i) for i in range(1, 6)):
            return base
    raise RuntimeError("no free block of five ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident set size of a process (VmHWM), in MB (10⁶ bytes)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        return None
    return None


@dataclass
class Environment:
    """The servers and service processes of one bench run."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="caseline-bench-")))
    postgres: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    stack: Stack | None = None
    database_url: str = ""
    nats_url: str = ""
    durable: bool = True
    settings: Settings = field(default_factory=Settings)

    def start(self) -> Environment:
        self.database_url = os.environ.get("CASELINE_DATABASE_URL", "")
        self.nats_url = os.environ.get("CASELINE_NATS_URL", "")
        if not self.database_url:
            self.postgres = EmbeddedPostgres(self.root / "pg", durable=self.durable).start()
            self.database_url = self.postgres.url
        if not self.nats_url:
            self.nats = NatsServer(self.root / "nats").start()
            self.nats_url = self.nats.url
        for attempt in range(3):
            base = free_base_port()
            ledger_url = f"http://127.0.0.1:{base + 5}"
            env = {
                "CASELINE_DATABASE_URL": self.database_url,
                "CASELINE_NATS_URL": self.nats_url,
                "CASELINE_LEDGER_URL": ledger_url,
            }
            self.stack = Stack(var_dir=self.root / "var", base_port=base, environment=env)
            try:
                self.stack.start(log=lambda *_: None)
                break
            except RuntimeError as exc:  # another program took a port between look and bind
                self.stack.stop()
                if "address already in use" not in str(exc) or attempt == 2:
                    raise
        self.settings = Settings(
            database_url=self.database_url, nats_url=self.nats_url, ledger_url=ledger_url
        )
        return self

    @property
    def urls(self) -> dict[str, str]:
        return self.stack.urls if self.stack else {}

    @property
    def conninfo(self) -> str:
        return DatabaseParts(self.database_url).conninfo()

    def raw_conninfo(self) -> str:
        """A database of its own for the raw limits, on the same server."""
        import psycopg

        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS bench_raw")
            conn.execute("CREATE DATABASE bench_raw")
        parts = DatabaseParts(self.database_url)
        parts.dbname = "bench_raw"
        return parts.conninfo()

    def signal(self, service: str, sig: int) -> None:
        if self.stack is not None:
            self.stack.processes[service].send_signal(sig)

    def memory(self) -> dict[str, float | None]:
        return {
            name: peak_rss_mb(p.pid)
            for name, p in (self.stack.processes if self.stack else {}).items()
        }

    def stop(self) -> None:
        if self.nats is not None:
            with contextlib.suppress(Exception):
                self.nats.resume()
        if self.stack is not None:
            for proc in self.stack.processes.values():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)
            self.stack.stop()
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)

    async def settle(self, seconds: float, ignore: str | None = None) -> float:
        """Wait (at most `seconds`) until the stack is quiet: every durable consumer (reactions,
        the ledger) has nothing pending and the stream took nothing new for a second. Reads are
        timed then, not against a catch-up still running in the same processes. The time waited."""
        import nats

        started = time.monotonic()
        nc = await nats.connect(self.nats_url)
        try:
            js = nc.jetstream()
            last = -1
            while time.monotonic() - started < seconds:
                infos = await js.consumers_info(self.settings.stream)
                pending = sum(
                    (i.num_pending or 0) + (i.num_ack_pending or 0)
                    for i in infos
                    if i.name != ignore
                )
                seq = int((await js.stream_info(self.settings.stream)).state.last_seq)
                if pending == 0 and seq == last:
                    break
                last = seq
                await asyncio.sleep(1.0)
        finally:
            await nc.close()
        return time.monotonic() - started

    async def stream_last_seq(self) -> int:
        nc = await __import__("nats").connect(self.nats_url)
        try:
            info = await nc.jetstream().stream_info(self.settings.stream)
            return int(info.state.last_seq)
        finally:
            await nc.close()


class LedgerFeed:
    """The ledger's public feed (`GET /events`): its head, and when each event was appended."""

    def __init__(self, url: str, settings: Settings) -> None:
        token = mint_token(
            settings, sub="bench-auditor", agency="inspection", role="auditor", ttl_minutes=120
        )
        self.http = httpx.AsyncClient(
            base_url=url,
            timeout=60,
            headers={"Authorization": f"Bearer {token}", "Caseline-Purpose": "benchmark"},
        )

    async def page(self, after: int, limit: int = 1000) -> list[dict[str, Any]]:
        response = await self.http.get("/events", params={"after": after, "limit": limit})
        response.raise_for_status()
        return response.json()["entries"]  # type: ignore[no-any-return]

    async def head(self, known: int = 0) -> int:
        """The last ledger position, by exponential then binary search on the feed."""
        low, step = known, 1024
        while await self.page(low + step - 1, 1):
            low, step = low + step, step * 2
        high = low + step
        while high - low > 1:
            middle = (low + high) // 2
            if await self.page(middle - 1, 1):
                low = middle
            else:
                high = middle
        return low

    async def wait_for(self, position: int, seconds: float) -> float | None:
        """Wait until the ledger reaches `position`; the monotonic time it did, or None."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if await self.page(position - 1, 1):
                return time.monotonic()
            await asyncio.sleep(0.05)
        return None

    async def appended(self, after: int, wanted: set[str], seconds: float) -> dict[str, float]:
        """When each wanted event was appended (epoch seconds), reading the feed after `after`."""
        found: dict[str, float] = {}
        deadline = time.monotonic() + seconds
        while wanted - found.keys() and time.monotonic() < deadline:
            entries = await self.page(after)
            if not entries:
                await asyncio.sleep(0.2)
                continue
            for e in entries:
                if e["event"]["id"] in wanted:
                    found[e["event"]["id"]] = datetime.fromisoformat(e["appended_at"]).timestamp()
            after = entries[-1]["ledger_seq"]
        return found

    async def aclose(self) -> None:
        await self.http.aclose()
