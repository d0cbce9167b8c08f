"""Helpers of the container tests: a copy of the repository's files where `docker compose` runs
(with a `.env` made by `caseline env-file` from the image), the compose command this machine has,
health and readiness waits, a bounded load of commands with idempotency keys, and the table of
what was checked."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt

from caseline.envfile import parse
from shared.kit.auth import mint_token
from shared.kit.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assessment", "programmes", "judicial", "ledger")
PORT_OFFSETS = {"intake": 1, "assessment": 2, "programmes": 3, "judicial": 4, "ledger": 5}
CHECKS: list[tuple[str, str, str]] = []
FIGURES: dict[str, Any] = {}


def check(area: str, what: str, outcome: str) -> None:
    """A row of the table `make compose-test` prints at the end."""
    CHECKS.append((area, what, outcome))


def docker_answers() -> str | None:
    """None when a docker daemon answers here, else why not."""
    if shutil.which("docker") is None:
        return "no docker command (make compose-test installs Debian's docker.io)"
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"no docker daemon answers: {done.stderr.strip().splitlines()[-1:]}"
    return None


def compose_command() -> list[str]:
    """`docker compose` (v2) where it exists, else Debian's `docker-compose` (1.29)."""
    v2 = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return ["docker", "compose"] if v2.returncode == 0 else ["docker-compose"]


def copy_repository(target: Path) -> Path:
    """The repository's tracked files (as in the working tree) and the wheelhouse, in `target`."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for wheel in (ROOT / "deploy" / "wheelhouse").glob("*.whl"):
        shutil.copy2(wheel, target / "deploy" / "wheelhouse" / wheel.name)
    return target


@dataclass
class Stack:
    """One compose project in a copy of the repository."""

    root: Path
    # Empty: docker compose's own choice (COMPOSE_FILE in .env, else docker-compose.yml).
    files: list[str] = field(default_factory=list)
    base: int = 0
    token_key: str | None = None  # signs people's tokens; default: .env's issuer key
    environ: dict[str, str] | None = None  # the compose commands' environment; default: ours

    @property
    def env(self) -> dict[str, str]:
        return parse((self.root / ".env").read_text())

    def compose(self, *args: str, check: bool = True, timeout: float = 600,
                input: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
        argv = [*compose_command()]
        for name in self.files:
            argv += ["-f", name]
        done = subprocess.run(
            [*argv, *args], cwd=self.root, capture_output=True, text=True, timeout=timeout,
            input=input, check=False, env=self.environ,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)}: {done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def caseline(self, service: str, *args: str, check: bool = True) -> str:
        """`caseline …` in a one-off container of `service` (its environment and networks)."""
        done = self.compose("run", "--rm", "-T", "--entrypoint", "caseline", service, *args,
                            check=check)  # fmt: skip
        return done.stdout + done.stderr

    def psql(self, sql: str) -> str:
        done = self.compose("exec", "-T", "postgres", "psql", "-U", "postgres", "-d", "caseline",
                            "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql)  # fmt: skip
        return done.stdout.strip()

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).stdout.strip()

    def inspect(self, service: str) -> dict[str, Any]:
        out = subprocess.run(["docker", "inspect", self.container(service)], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        return json.loads(out)[0]  # type: ignore[no-any-return]

    def health(self, service: str) -> str:
        state = self.inspect(service)["State"]
        return str(state.get("Health", {}).get("Status") or state["Status"])

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.base + PORT_OFFSETS[service]}"

    def settings(self) -> Settings:
        return Settings(token_signing_key=self.token_key or self.env["CASELINE_TOKEN_SIGNING_KEY"])

    def headers(self, role: str, agency: str = "compose-test", **claims: str) -> dict[str, str]:
        if self.token_key and self.token_key.startswith("-----BEGIN"):
            token = _rs256_token(self.token_key, sub=f"compose-{role}", agency=agency, role=role,
                                 **claims)  # fmt: skip
        else:
            token = mint_token(self.settings(), sub=f"compose-{role}", agency=agency, role=role,
                               **claims)  # type: ignore[arg-type]  # fmt: skip
        return {"Authorization": f"Bearer {token}", "Caseline-Purpose": "compose test"}

    def wait_healthy(self, services: tuple[str, ...], timeout: float = 240) -> float:
        """Seconds until docker reports every one of `services` healthy."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(AssertionError, subprocess.CalledProcessError, KeyError):
                if all(self.health(s) == "healthy" for s in services):
                    return time.monotonic() - started
            time.sleep(0.5)
        states = {s: self.health(s) for s in services}
        logs = self.compose("logs", "--no-color", "--tail", "40", check=False).stdout
        raise AssertionError(f"not healthy within {timeout}s: {states}\n{logs[-6000:]}")

    def wait_ready(self, service: str, timeout: float = 180) -> float:
        """Seconds until the service's /readyz answers 200 on its published port."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url(service)}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            time.sleep(0.2)
        raise AssertionError(f"{service}: /readyz not 200 within {timeout}s")


def _rs256_token(private_pem: str, **claims: str) -> str:
    """A person's token as an identity provider signs it: RS256, with the claims Caseline reads."""
    now = datetime.now(UTC)
    payload = {**claims, "iss": "caseline", "aud": "caseline", "iat": now,
               "nbf": now - timedelta(seconds=5), "exp": now + timedelta(minutes=60)}  # fmt: skip
    return jwt.encode(payload, private_pem, algorithm="RS256")


ARREST = {
    "person": {"full_name": "Compose Test Person", "sex": "male", "nationality": "Mali"},
    "arrested_at": "2026-11-01T06:30:00Z", "location": "Gao", "arresting_unit": "Brigade de Gao",
    "grounds": "Synthetic data of the container tests", "returning_foreign_fighter": False,
}  # fmt: skip


@dataclass
class Load:
    """Commands sent one after another (an arrest, then its custody) until `stop()`, at most
    `limit` and for at most `deadline` seconds: each retried with its Idempotency-Key until it
    is answered 201, whatever fails in between."""

    stack: Stack
    limit: int = 2_000
    deadline: float = 300
    event_ids: list[str] = field(default_factory=list)
    retries: int = 0
    thread: threading.Thread | None = None
    error: BaseException | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def count(self) -> int:
        return len(self.event_ids)

    def start(self) -> Load:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> Load:
        """Finish the command in hand, then stop; raise what went wrong."""
        assert self.thread is not None
        self.stopping.set()
        self.thread.join(self.deadline + 30)
        if self.error:
            raise self.error
        return self

    def _more(self) -> bool:
        return not self.stopping.is_set() and len(self.event_ids) < self.limit

    def _run(self) -> None:
        try:
            end = time.monotonic() + self.deadline
            headers = self.stack.headers("police", agency="police-judiciaire")
            with httpx.Client(base_url=self.stack.url("intake"), timeout=10) as http:
                while self._more():
                    case = self._send(http, "/cases", ARREST, headers, end)["case_id"]
                    if self._more():
                        custody = {"started_at": "2026-11-01T07:30:00Z",
                                   "legal_basis": "CPP art. 76"}  # fmt: skip
                        self._send(http, f"/cases/{case}/custody", custody, headers, end)
        except BaseException as exc:  # handed to the test thread by join()
            self.error = exc

    def _send(self, http: httpx.Client, path: str, body: dict[str, Any],
              headers: dict[str, str], end: float) -> dict[str, Any]:  # fmt: skip
        key = {"Idempotency-Key": str(uuid.uuid4())}
        while time.monotonic() < end:
            try:
                answer = http.post(path, json=body, headers={**headers, **key})
                if answer.status_code == 201:
                    recorded: dict[str, Any] = answer.json()
                    self.event_ids.append(str(recorded["event_id"]))
                    return recorded
            except httpx.HTTPError:
                pass
            self.retries += 1
            time.sleep(0.2)
        raise AssertionError(f"{path} not recorded within the load's deadline")


def ledger_holds_each_once(stack: Stack, event_ids: list[str], timeout: float = 180) -> None:
    """Every id is in the ledger, and each service's events are in it exactly as many times as
    the service recorded them."""
    wanted = set(event_ids)
    started = time.monotonic()
    while True:
        held = set(stack.psql("SELECT event_id FROM ledger.entries").split())
        if wanted <= held or time.monotonic() - started > timeout:
            break
        time.sleep(1)
    assert wanted - held == set(), f"{len(wanted - held)} recorded commands missing from the ledger"
    counts: dict[str, tuple[int, int]] = {}
    while time.monotonic() - started < timeout:
        counts = {
            service: (
                int(stack.psql(f"SELECT count(*) FROM {service}.entry_index")),
                int(stack.psql(
                    f"SELECT count(*) FROM ledger.entries WHERE type LIKE 'caseline.{service}.%'")),
            )
            for service in ("intake", "judicial", "assessment", "programmes")
        }  # fmt: skip
        if all(recorded == held for recorded, held in counts.values()):
            break
        time.sleep(1)
    assert all(r == h for r, h in counts.values()), f"(recorded, in the ledger): {counts}"
    dups = stack.psql("SELECT count(*) - count(DISTINCT event_id) FROM ledger.entries")
    assert dups == "0"


def verify_all(stack: Stack) -> str:
    out = stack.caseline("ops", "verify", "--all")
    assert "OK: every chain, the Merkle tree and every signature verify" in out, out
    return out


def write_figures(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")


def environment_without_caseline() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("CASELINE_", "NATS_"))}
