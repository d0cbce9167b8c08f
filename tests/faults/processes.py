"""The long fault suite's world: real processes to kill, and a steady load of commands over HTTP.

`FaultStack` is our own PostgreSQL and NATS plus every installed service as a subprocess (the
`caseline up` stack); `SteadyLoad` sends arrests and admissions at a fixed rate from a thread,
retrying each command with its `Idempotency-Key` through any outage, and keeps what was answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import nats

from bench.environment import free_base_port
from caseline.stack import Stack
from shared.kit.auth import mint_token
from shared.kit.servers import EmbeddedPostgres, NatsServer
from shared.kit.settings import Settings
from tests.support.tokens import token_for

__all__ = ["FaultStack", "SteadyLoad"]


@dataclass
class FaultStack:
    """PostgreSQL, NATS and the services, each of which a fault may kill, pause or restart."""

    root: Path
    postgres: EmbeddedPostgres = field(init=False)
    nats: NatsServer = field(init=False)
    stack: Stack = field(init=False)
    settings: Settings = field(init=False)

    def start(self) -> FaultStack:
        self.postgres = EmbeddedPostgres(self.root / "pg", durable=False).start()
        self.nats = NatsServer(self.root / "nats").start()
        env = {
            "CASELINE_DATABASE_URL": self.postgres.url,
            "CASELINE_NATS_URL": self.nats.url,
            "CASELINE_RELAY_POLL_SECONDS": "0.05",
            # The rows test the relay and consumers alone; reconciliation has its own row.
            "CASELINE_RECONCILE_SECONDS": "0",
            "CASELINE_LOG_LEVEL": "WARNING",
        }
        self.stack = Stack(var_dir=self.root / "var", base_port=free_base_port(), environment=env)
        self.stack.start(log=lambda *_: None)
        self.settings = Settings(
            database_url=self.postgres.url,
            nats_url=self.nats.url,
            ledger_url=self.stack.urls["ledger"],
            reconcile_margin_seconds=0,
        )
        return self

    def stop(self) -> None:
        """Stop whatever was started, even after a failed start or a fault left things paused."""
        if hasattr(self, "stack"):
            for proc in self.stack.processes.values():
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGCONT)  # a stopped process cannot handle SIGTERM
            self.stack.stop()
        if hasattr(self, "nats"):
            self.nats.resume()
            self.nats.stop()
        if hasattr(self, "postgres"):
            self.postgres.stop("immediate")

    def restart_postgres(self) -> None:
        """Stop PostgreSQL (fast: sessions are cut) and start it again on the same port."""
        pid_file = self.postgres.data_dir / "postmaster.pid"
        said = []
        for mode in ("fast", "immediate"):
            done = self.postgres._run(  # the kit's stop() hides pg_ctl's answer
                "pg_ctl", "-D", str(self.postgres.data_dir), "-m", mode, "-t", "30", "-w", "stop",
                check=False,
            )  # fmt: skip
            said.append(f"{mode}: {done.returncode} {done.stdout.strip()} {done.stderr.strip()}")
            if not pid_file.exists():
                break
        else:
            raise RuntimeError("PostgreSQL did not stop: " + " | ".join(said))
        self.postgres.start()

    def url(self, service: str) -> str:
        return self.stack.urls[service]

    def process(self, service: str) -> subprocess.Popen[bytes]:
        return self.stack.processes[service]

    def restart(self, service: str) -> None:
        """Start a (killed) service again with the same environment and port."""
        port = self.url(service).rsplit(":", 1)[1]
        env = dict(self.stack.environment, CASELINE_PORT=port)
        with open(self.root / "var" / "logs" / f"{service}.log", "ab") as out:
            self.stack.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"services.{service}"], env=env, stdout=out, stderr=out
            )
        self.stack.wait_ready()

    def consumers_idle(self) -> bool:
        """Every durable consumer of the stream (reactions, the ledger) has nothing pending."""

        async def pending() -> int:
            nc = await nats.connect(self.nats.url)
            try:
                infos = await nc.jetstream().consumers_info(self.settings.stream)
                return sum(int(i.num_pending) + int(i.num_ack_pending) for i in infos)
            finally:
                await nc.close()

        return asyncio.run(pending()) == 0

    def ledger_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url("ledger"), timeout=30)

    def auditor(self) -> dict[str, str]:
        token = mint_token(self.settings, sub="fault-auditor", agency="inspection", role="auditor")
        return {"Authorization": f"Bearer {token}"}


class SteadyLoad:
    """Cases (an arrest, then an admission) at `rate` commands a second, from a thread."""

    def __init__(self, intake_url: str, settings: Settings, rate: float = 40.0) -> None:
        self.url = intake_url
        self.rate = rate
        self.tokens = {
            # The registry's officer works at the facility the admissions name (SPEC §8).
            role: token_for(settings, role, sub=f"load-{role}")
            for role in ("police", "prison_registry")
        }
        self.sent = 0
        self.acknowledged: list[UUID] = []
        self.refused: list[str] = []
        self.gave_up = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="load")

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(180)

    async def _main(self) -> None:
        from tests.support import admission_payload, arrest_payload

        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=self.url, timeout=10, limits=limits) as client:
            cases: set[asyncio.Task[None]] = set()
            while not self._stop.is_set():
                case = self._case(client, arrest_payload(), admission_payload())
                task = asyncio.create_task(case)
                cases.add(task)
                task.add_done_callback(cases.discard)
                await asyncio.sleep(2 / self.rate)
            await asyncio.gather(*cases)

    async def _case(self, client: httpx.AsyncClient, arrest: Any, admission: Any) -> None:
        opened = await self._command(client, "/cases", arrest, "police")
        if opened is not None:
            path = f"/cases/{opened['case_id']}/admission"
            await self._command(client, path, admission, "prison_registry")

    async def _command(
        self, client: httpx.AsyncClient, path: str, body: Any, role: str
    ) -> dict[str, Any] | None:
        """Send until answered: transport errors and 5xx are retried with the same key."""
        self.sent += 1
        headers = {"Authorization": f"Bearer {self.tokens[role]}", "Idempotency-Key": str(uuid4())}
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            try:
                response = await client.post(path, json=body, headers=headers)
            except httpx.HTTPError:
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 201:
                answer: dict[str, Any] = response.json()
                ids = answer.get("event_ids") or [answer["event_id"]]
                self.acknowledged += [UUID(i) for i in ids]
                return answer
            if response.status_code < 500:
                self.refused.append(f"{path}: {response.status_code} {response.text[:200]}")
                return None
            await asyncio.sleep(0.2)
        self.gave_up += 1
        return None
