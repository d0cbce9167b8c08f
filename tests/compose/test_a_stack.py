"""The stack as `docker compose up` starts it: health checks green, the one-shot jobs done, the
demo case recorded through all five services and verified, the per-agency NATS users enforced by
the server, purpose required, every container non-root on a read-only root file system."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
from pathlib import Path

import httpx
import nats
from nats.errors import Error as NatsError

from tests.compose.support import FIGURES, SERVICES, Stack, check, verify_all

CASELINE = str(Path(os.sys.executable).parent / "caseline")  # type: ignore[attr-defined]


def test_every_long_running_container_is_healthy_and_the_one_shot_jobs_exited_0(stack: Stack):
    states = {s: stack.health(s) for s in ("postgres", "nats", *SERVICES)}
    jobs = {j: stack.inspect(j)["State"]["ExitCode"] for j in ("ledger-setup", "nats-setup")}

    assert set(states.values()) == {"healthy"}, states
    assert jobs == {"ledger-setup": 0, "nats-setup": 0}
    check("health", "postgres, nats and the five services healthy; setup jobs exit 0",
          f"{FIGURES['time to healthy, first start (s)']} s to healthy")  # fmt: skip


def test_the_demo_case_goes_through_all_five_services_and_verifies(stack: Stack):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    env["CASELINE_TOKEN_SIGNING_KEY"] = stack.env["CASELINE_TOKEN_SIGNING_KEY"]

    demo = subprocess.run([CASELINE, "demo", "--base-port", str(stack.base)], env=env,
                          capture_output=True, text=True, timeout=180, check=False)  # fmt: skip

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "chain verified: yes" in demo.stdout
    services = {line.split()[2].split(".")[1] for line in demo.stdout.splitlines()
                if line.strip()[:1].isdigit() and "caseline." in line}  # fmt: skip
    assert services == {"intake", "judicial", "assessment", "programmes"}
    out = verify_all(stack)
    (summary,) = [line for line in out.splitlines() if " entries of " in line]
    check("demo", "caseline demo through the published ports; caseline verify --all",
          f"OK: {summary.split(',')[0]}")  # fmt: skip


def test_reads_without_a_purpose_are_refused_as_the_readme_says(stack: Stack):
    headers = stack.headers("auditor")
    without = {k: v for k, v in headers.items() if k != "Caseline-Purpose"}

    refused = httpx.get(f"{stack.url('intake')}/cases", headers=without)
    allowed = httpx.get(f"{stack.url('intake')}/cases", headers=headers)

    assert refused.status_code == 400, refused.text
    assert allowed.status_code == 200, allowed.text
    check("access", "a read without Caseline-Purpose: 400; with it: 200", "as documented")


async def _agency_tries(url: str) -> dict[str, str]:
    outcome: dict[str, str] = {}
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(url, error_cb=on_error, allow_reconnect=False,
                            inbox_prefix="_INBOX.agency-ngo-sahel-avenir")  # fmt: skip
    try:
        await nc.subscribe("caseline.>")
        await nc.flush()
        await asyncio.sleep(0.5)
        outcome["subscribe caseline.>"] = "refused" if errors else "allowed"
        js = nc.jetstream()
        try:
            await js.consumer_info("CASELINE_DELIVERIES", "agency-ngo-sahel-avenir")
            outcome["own consumer"] = "allowed"
        except NatsError as exc:
            outcome["own consumer"] = f"refused: {exc}"
        try:
            await js.consumer_info("CASELINE_DELIVERIES", "agency-police-judiciaire")
            outcome["another agency's consumer"] = "allowed"
        except (NatsError, TimeoutError):
            outcome["another agency's consumer"] = "refused"
    finally:
        await nc.close()
    return outcome


def _connect_raw(port: int, user: str, password: str) -> str:
    """The server's answer to a CONNECT with these credentials (no TLS), as text."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.recv(4096)  # INFO
        connect = {"user": user, "pass": password, "verbose": False, "pedantic": False}
        sock.sendall(f"CONNECT {json.dumps(connect)}\r\nPING\r\n".encode())
        return sock.recv(4096).decode(errors="replace")


def test_the_nats_server_in_the_container_enforces_each_agencys_user(stack: Stack):
    env = stack.env
    port = env["PUBLISHED_PORT_NATS"]
    user = "agency-ngo-sahel-avenir"
    url = f"nats://{user}:{env['NATS_PASSWORD_AGENCY_NGO_SAHEL_AVENIR']}@127.0.0.1:{port}"

    outcome = asyncio.run(_agency_tries(url))
    wrong = _connect_raw(int(port), user, "wrong-password")

    assert "Authorization Violation" in wrong, wrong
    assert outcome == {"subscribe caseline.>": "refused", "own consumer": "allowed",
                       "another agency's consumer": "refused"}  # fmt: skip
    check("nats", "agency user: own consumer yes; caseline.>, another's consumer, bad password no",
          "enforced")  # fmt: skip


def test_nats_monitoring_answers_on_the_backend_network_only(stack: Stack):
    def probe(network: str) -> int:
        return subprocess.run(
            ["docker", "run", "--rm", "--network", f"caseline_{network}", "caseline-debian:bookworm",
             "wget", "-q", "-T", "3", "-O", "/dev/null", "http://nats:8222/healthz"],
            capture_output=True, check=False,
        ).returncode  # fmt: skip

    assert probe("backend") == 0
    assert probe("frontend") != 0
    published = stack.inspect("nats")["NetworkSettings"]["Ports"]
    assert not published.get("8222/tcp")
    check("nats", "monitoring :8222 answers on backend, not on frontend, not published", "yes")


def test_every_container_runs_as_a_user_on_a_read_only_root(stack: Stack):
    for service in ("postgres", "nats", *SERVICES):
        info = stack.inspect(service)
        uid = stack.compose("exec", "-T", service, "id", "-u").stdout.strip()
        write = stack.compose("exec", "-T", service, "touch", "/probe", check=False)

        assert uid != "0", service
        assert info["HostConfig"]["ReadonlyRootfs"] is True, service
        assert write.returncode != 0, service
    sizes = ", ".join(f"{k} {v}" for k, v in FIGURES["image sizes"].items())
    check("images", "non-root, read-only root fs: postgres, nats, five services", sizes)
