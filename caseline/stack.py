"""`caseline up`: PostgreSQL and NATS (embedded unless configured) and the five services.

Each service runs as its own process; Ctrl-C (or SIGTERM) stops them all, then the servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from shared.kit.i18n import translate as _
from shared.kit.runtime import DEFAULT_PORTS
from shared.kit.servers import EmbeddedPostgres, NatsServer, free_port
from shared.kit.settings import Settings

__all__ = ["SERVICES", "PortTakenError", "Stack", "check_ports_free"]

SERVICES = ("intake", "judicial", "assessment", "programmes", "ledger")


def installed_services() -> tuple[str, ...]:
    """The services of this installation (each a `services.<name>` package with a `__main__`)."""
    import importlib.util

    return tuple(
        s for s in SERVICES if importlib.util.find_spec(f"services.{s}.__main__") is not None
    )


class PortTakenError(RuntimeError):
    """A port the stack needs is already in use: nothing was started."""


def check_ports_free(needed: dict[str, int], host: str = "127.0.0.1") -> None:
    """Raise `PortTakenError` naming the first port of `needed` ({what: port}) that is taken."""
    for what, port in needed.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As a server binds (address reuse on): a closing connection does not count as taken.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise PortTakenError(
                    _(
                        "port {port} on {host} is already in use, and {what} needs it: another"
                        " Caseline stack or another program holds it. Stop it, or start on other"
                        " ports with --base-port.",
                        port=port,
                        host=host,
                        what=what,
                    )
                ) from None


@dataclass
class Stack:
    """The running stack: servers we started, service processes, and their addresses."""

    var_dir: Path
    base_port: int | None = None
    environment: dict[str, str] = field(default_factory=dict)
    postgres: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)

    def start(self, log: Callable[[str], None] = print) -> None:
        settings = Settings()
        env = dict(os.environ)
        env.update(self.environment)
        ports = {
            name: DEFAULT_PORTS[name] if self.base_port is None else self.base_port + port - 8000
            for name, port in DEFAULT_PORTS.items()
        }
        embed_postgres = not (
            self.environment.get("CASELINE_DATABASE_URL") or settings.database_url
        )
        embed_nats = not (self.environment.get("CASELINE_NATS_URL") or settings.nats_url)
        needed = {_("the {name} service", name=name): ports[name] for name in installed_services()}
        if embed_postgres:
            needed[_("the embedded PostgreSQL")] = free_port()
        if embed_nats:
            needed[_("the embedded NATS server")] = free_port()
        # Before anything starts: a port another stack holds would answer our readiness checks.
        check_ports_free(needed, settings.host)
        if embed_postgres:
            port = needed["the embedded PostgreSQL"]
            self.postgres = EmbeddedPostgres(self.var_dir / "postgres", port).start()
            env["CASELINE_DATABASE_URL"] = self.postgres.url
            log(f"PostgreSQL (embedded)  {self.postgres.url}")
        if embed_nats:
            port = needed["the embedded NATS server"]
            self.nats = NatsServer(self.var_dir / "nats", port).start()
            env["CASELINE_NATS_URL"] = self.nats.url
            log(f"NATS JetStream (embedded) {self.nats.url}")
        self.environment = env
        logs = self.var_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        # Each service asks the ledger, now and then, whether it lacks any of its events.
        env.setdefault("CASELINE_LEDGER_URL", f"http://127.0.0.1:{ports['ledger']}")
        # The ledger asks the others for their read audits (a case's reads; anchoring).
        others = [f"{n}=http://127.0.0.1:{p}" for n, p in ports.items() if n != "ledger"]
        env.setdefault("CASELINE_SERVICE_URLS", ",".join(others))
        # The console, opened at http://localhost:<ledger>/console, calls intake and judicial
        # from the browser: their addresses as the browser names them, and that origin let in.
        env.setdefault("CASELINE_CONSOLE_ORIGIN", f"http://localhost:{ports['ledger']}")
        called = [f"{n}=http://localhost:{ports[n]}" for n in ("intake", "judicial") if n in ports]
        env.setdefault("CASELINE_CONSOLE_SERVICE_URLS", ",".join(called))
        for name in installed_services():
            port = ports[name]
            service_env = dict(env, CASELINE_PORT=str(port))
            out = open(logs / f"{name}.log", "ab")  # noqa: SIM115
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                env=service_env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            out.close()
            self.urls[name] = f"http://127.0.0.1:{port}"
        self.wait_ready()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                proc = self.processes[name]
                if proc.poll() is not None:
                    log_text = (self.var_dir / "logs" / f"{name}.log").read_text(errors="replace")[
                        -3000:
                    ]
                    exited = _("{name} exited with {code}:", name=name, code=proc.returncode)
                    raise RuntimeError(f"{exited}\n{log_text}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(self.urls[name] + "/readyz", timeout=1).status_code == 200:
                        pending.discard(name)
            time.sleep(0.2)
        if pending:
            raise TimeoutError(
                _(
                    "not ready after {seconds} s: {services}",
                    seconds=timeout,
                    services=", ".join(sorted(pending)),
                )
            )

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        # A profiled process (CASELINE_PROFILE_DIR) writes its profile as it stops.
        patience = 120 if self.environment.get("CASELINE_PROFILE_DIR") else 15
        for proc in self.processes.values():
            try:
                proc.wait(patience)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.processes.clear()
        if self.nats is not None:
            self.nats.stop()
        if self.postgres is not None:
            self.postgres.stop()
