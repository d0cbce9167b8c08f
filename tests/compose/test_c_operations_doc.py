"""docs/operations.md as an operator runs it: every `sh` block is marked `run`, `run-fresh` (a
new copy of the repository, its own compose project, the default ports) or `skip` with why; the
`run` blocks are run in the document's order with bash against the stack, as written (`docker
compose` is Debian's `docker-compose` where the plugin is missing), and what each should have done
is checked after it: TLS at the edge, an identity provider's key, reconciliation, an evidence
bundle, backup, restore and a rolling upgrade."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.compose.support import (
    FIGURES,
    ROOT,
    SERVICES,
    Load,
    Stack,
    check,
    copy_repository,
    ledger_holds_each_once,
    verify_all,
)

DOC = ROOT / "docs" / "operations.md"
MARKED = re.compile(
    r"<!-- compose-test: (?P<mode>run-fresh|run|skip)(?P<why>[^>]*)-->\n```sh\n(?P<body>.*?)\n```",
    re.S,
)
SHIM = (
    'docker() { if [ "$1" = compose ] && ! command docker compose version > /dev/null 2>&1;'
    ' then shift; docker-compose "$@"; else command docker "$@"; fi; }\n'
)
IDP = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # an identity provider's
STATE: dict[str, object] = {}


@dataclass(frozen=True)
class Block:
    mode: str
    why: str
    body: str

    @property
    def name(self) -> str:
        first = next(line for line in self.body.splitlines() if not line.startswith("#"))
        return re.sub(r"[^a-z0-9]+", "-", first.lower())[:40].strip("-")


def _blocks() -> list[Block]:
    text = DOC.read_text()
    marked = [
        Block(m["mode"], " ".join(m["why"].split()).strip("() "), m["body"])
        for m in MARKED.finditer(text)
    ]
    assert len(marked) == text.count("```sh\n"), "every sh block of operations.md needs a marker"
    return marked


BLOCKS = _blocks()


def _bash(body: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", SHIM + body], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{body}\n--- exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def _env(stack: Stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASELINE_", "COMPOSE_"))}
    pem = IDP.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    (stack.root / "idp-public.pem").write_bytes(pem)
    env["IDP_PEM"] = "idp-public.pem"
    case = stack.psql("SELECT case_id FROM ledger.entries WHERE type LIKE '%.ArrestRecorded.%'"
                      " ORDER BY ledger_seq LIMIT 1")  # fmt: skip
    env["CASE"] = case
    return env


# --- what each block should have done ------------------------------------------------------------


def _after_first_start(root: Path, env: dict[str, str]) -> None:
    fresh = Stack(root, environ=env)
    took = fresh.wait_healthy(("postgres", "nats", *SERVICES))
    check("docs", "First start, as written, in a fresh copy", f"healthy ({took:.0f} s after up)")


def _tls(stack: Stack, out: str) -> None:
    ca = stack.root / "deploy/tls/certs/ca.crt"
    context = ssl.create_default_context(cafile=str(ca))
    answer = httpx.get("https://localhost:8445/readyz", verify=context)
    with pytest.raises(httpx.HTTPError):
        httpx.get("http://127.0.0.1:8445/readyz", timeout=5).raise_for_status()
    port = int(stack.env["PUBLISHED_PORT_NATS"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        info = sock.recv(4096).decode()
        sock.sendall(b'CONNECT {"verbose":false}\r\nPING\r\n')
        time.sleep(0.5)
        plain = sock.recv(4096).decode(errors="replace")
    with socket.create_connection(("127.0.0.1", 4443), timeout=5) as raw:
        raw.recv(4096)  # INFO comes first, in clear; then the client starts TLS
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            cert = tls.getpeercert()

    assert answer.status_code == 200
    assert '"tls_required":true' in info.replace(" ", "")
    assert "PONG" not in plain
    assert cert
    load = Load(stack, deadline=120).start()
    time.sleep(3)
    ledger_holds_each_once(stack, load.stop().event_ids)
    check("tls", "proxy HTTPS with the test CA; nothing in clear on its ports", "yes")
    check("tls", "NATS: tls_required, plain CONNECT refused, TLS with the CA; services on TLS",
          f"{load.count} commands reached the ledger")  # fmt: skip


def _idp(stack: Stack, out: str) -> None:
    own = stack.headers("auditor")
    STATE["token_key"] = IDP.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()).decode()  # fmt: skip
    stack.token_key = str(STATE["token_key"])
    idp = stack.headers("auditor")
    keys = {s: stack.inspect(s)["Config"]["Env"] for s in SERVICES}

    refused = httpx.get(f"{stack.url('ledger')}/events", headers=own)
    taken = {s: httpx.get(f"{stack.url(s)}/cases" if s != "ledger" else
                          f"{stack.url(s)}/events", headers=idp).status_code
             for s in SERVICES}  # fmt: skip

    assert refused.status_code == 401
    assert set(taken.values()) == {200}, taken
    assert all(any(e.startswith("CASELINE_JWT_PUBLIC_KEY=-----BEGIN PUBLIC KEY-----") for e in env)
               for env in keys.values()), "the PEM key is not in every service's environment"  # fmt: skip
    check("operator", "an identity provider's RS256 PEM key (override file): its tokens 200 on"
          " all five, the old issuer's 401", "yes")  # fmt: skip


def _reconcile(stack: Stack, out: str) -> None:
    assert "refused" not in out.lower() and "401" not in out, out
    check("operator", "caseline reconcile as each service (service tokens), IdP key in force",
          "exit 0 for the four services")  # fmt: skip


def _export(stack: Stack, out: str) -> None:
    bundles = list(stack.root.glob("case-*.bundle.json"))
    assert len(bundles) == 1 and bundles[0].stat().st_size > 1000
    assert "result:      OK" in out
    check("operator", "caseline export -o - from the read-only container; verify-bundle",
          f"{bundles[0].stat().st_size:,} bytes, OK offline")  # fmt: skip


def _backup(stack: Stack, out: str) -> None:
    STATE["ids"] = set(stack.psql("SELECT event_id FROM ledger.entries").split())
    dumps = list(stack.root.glob("caseline-*.dump"))
    assert dumps and dumps[0].stat().st_size > 0


def _nats_copy(stack: Stack, out: str) -> None:
    copies = list(stack.root.glob("nats-*.tgz"))
    assert copies and copies[0].stat().st_size > 0
    FIGURES["backup sizes (bytes)"] = {p.name.split("-")[0]: p.stat().st_size
                                       for p in stack.root.glob("*-20*.*")}  # fmt: skip
    check("backup", "pg_dump, roles and the NATS store's offline copy, as written", "done")


def _restore(stack: Stack, out: str) -> None:
    after = set(stack.psql("SELECT event_id FROM ledger.entries").split())
    ids = STATE["ids"]
    assert isinstance(ids, set)

    assert ids <= after
    ledger_holds_each_once(stack, list(ids))
    load = Load(stack, deadline=120).start()
    time.sleep(3)
    ledger_holds_each_once(stack, load.stop().event_ids)
    check("backup", "restore as written: database dropped and restored, stream store replaced",
          f"{len(ids)} entries back, verify --all OK, new commands flow")  # fmt: skip


def _upgrade(stack: Stack, out: str) -> None:
    assert "pending" not in out.lower(), out
    verify_all(stack)
    check("upgrade", "rolling upgrade as written: build, ledger-setup, one service at a time",
          "migrate --status: nothing pending; verify --all OK")  # fmt: skip


AFTER: list[tuple[str, Callable[[Stack, str], None]]] = [
    ("IDP_PEM", _idp),
    ("deploy/tls/docker-compose.tls.yml", _tls),
    (" reconcile ", _reconcile),
    (" export ", _export),
    ("pg_dump ", _backup),
    ("czf - -C /data", _nats_copy),
    ("pg_restore", _restore),
    ("migrate --status", _upgrade),
]


@pytest.mark.parametrize("block", BLOCKS, ids=[f"{i:02d}-{b.name}" for i, b in enumerate(BLOCKS)])
def test_each_command_block_of_operations_md_runs_as_written(
    block: Block, stack: Stack, tmp_path: Path
):
    if block.mode == "skip":
        check("docs", f"not run: {block.name}", block.why)
        pytest.skip(block.why)
    if block.mode == "run-fresh":
        _run_fresh(block, tmp_path)
        return
    if "COMPOSE_FILE" in block.body:
        stack.files = []  # from here on, .env's COMPOSE_FILE names the files
    started = time.monotonic()

    out = _bash(block.body, stack.root, _env(stack))

    FIGURES[f"docs block {block.name} (s)"] = round(time.monotonic() - started, 1)
    for needle, after in AFTER:
        if needle in block.body:
            after(stack, out)
            break
    else:
        check("docs", f"ran: {block.name}", "exit 0")


def _run_fresh(block: Block, tmp_path: Path) -> None:
    taken = []
    for port in (8001, 8002, 8003, 8004, 8005, 4222):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                taken.append(port)
    if taken:
        pytest.skip(f"the first start uses the default ports, taken here: {taken}")
    root = copy_repository(tmp_path / "fresh")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASELINE_", "COMPOSE_"))}
    env["COMPOSE_PROJECT_NAME"] = "caselinefresh"  # beside the test's stack, not over it
    try:
        _bash(block.body, root, env)
        _after_first_start(root, env)
    finally:
        _bash("docker compose down -v --remove-orphans", root, env)
        shutil.rmtree(root, ignore_errors=True)
