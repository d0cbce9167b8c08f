"""The compose stack without docker: every Caseline service of docker-compose.yml started as a local
process with the compose environment (.env.example's variables, fresh secrets, host names mapped
to local servers), PostgreSQL initialised by deploy/postgres/ and NATS run with deploy/nats/ and
its per-agency users; then `caseline demo` runs end to end through it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from caseline.stack import SERVICES, installed_services
from shared.kit.auth import mint_token
from shared.kit.runtime import DEFAULT_PORTS
from shared.kit.settings import DatabaseParts, Settings
from shared.kit.testing import Servers, fresh_database
from tests.deploy.support import (
    ROOT,
    NatsProcess,
    example_env,
    load_compose,
    nats_conf_copy,
    nats_environment,
    rewrite_urls,
    service_environment,
    wait_until,
)
from tests.support.ports import free_base_port

pytestmark = pytest.mark.timeout(240)


@dataclass
class LocalStack:
    """The compose services running as local processes, and where they listen."""

    root: Path
    env: dict[str, str]
    database_url: str
    base_port: int = 0
    urls: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")


def _caseline() -> str:
    return str(Path(sys.executable).parent / "caseline")


def _argv(service: dict[str, Any]) -> list[str]:
    entrypoint = service.get("entrypoint", ["python", "-m"])
    if entrypoint == ["python", "-m"]:
        head = [sys.executable, "-m"]
    elif entrypoint == ["caseline"]:
        head = [_caseline()]
    else:  # pragma: no cover - a new entrypoint needs a mapping here
        raise AssertionError(f"no local mapping for entrypoint {entrypoint}")
    return [*head, *service["command"]]


def _local_env(
    service: dict[str, Any], stack: LocalStack, hosts: dict[str, tuple[str, int]]
) -> dict[str, str]:
    dbname = DatabaseParts(stack.database_url).dbname
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASELINE_", "NATS_", "DB_"))}
    for key, value in service_environment(service, stack.env).items():
        env[key] = rewrite_urls(value, hosts, dbname)
    if "CASELINE_PORT" in env:
        env["CASELINE_PORT"] = str(hosts[service["command"][0].rsplit(".", 1)[-1]][1])
        env["CASELINE_HOST"] = "127.0.0.1"  # in a container 0.0.0.0; here, loopback only
    return env


def _init_postgres(
    servers: Servers, database_url: str, compose: dict[str, Any], env: dict[str, str]
) -> None:
    """deploy/postgres/init/, as the postgres image runs it at its first start."""
    assert servers.postgres is not None
    parts = DatabaseParts(database_url)
    init_env = {**os.environ, **service_environment(compose["services"]["postgres"], env)}
    init_env.update(
        POSTGRES_DB=parts.dbname, PGHOST=parts.host, PGPORT=str(parts.port),
        PATH=f"{servers.postgres.pg_tool('psql').parent}{os.pathsep}{os.environ['PATH']}",
        CASELINE_ROLES_SQL=str(ROOT / "deploy/postgres/roles.sql"),
    )  # fmt: skip
    for script in sorted((ROOT / "deploy/postgres/init").glob("*.sh")):
        done = subprocess.run(["sh", str(script)], env=init_env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def _run_one_shot(
    name: str, service: dict[str, Any], stack: LocalStack, hosts: dict[str, tuple[str, int]]
) -> None:
    done = subprocess.run(
        _argv(service), env=_local_env(service, stack, hosts), cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, f"{name}: {done.stdout}\n{done.stderr}"


def _start(
    name: str, service: dict[str, Any], stack: LocalStack, hosts: dict[str, tuple[str, int]]
) -> None:
    with (stack.root / f"{name}.log").open("wb") as out:
        stack.processes[name] = subprocess.Popen(
            _argv(service), env=_local_env(service, stack, hosts), cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    stack.urls[name] = f"http://127.0.0.1:{hosts[name][1]}"


def _ready(stack: LocalStack) -> bool:
    for name, proc in stack.processes.items():
        if proc.poll() is not None:
            raise AssertionError(
                f"{name} exited with {proc.returncode}:\n{stack.log(name)[-3000:]}"
            )
    with contextlib.suppress(httpx.HTTPError):
        return all(
            httpx.get(f"{u}/readyz", timeout=2).status_code == 200 for u in stack.urls.values()
        )
    return False


def _stop(stack: LocalStack) -> None:
    for proc in stack.processes.values():
        if proc.poll() is None:
            proc.terminate()
    for proc in stack.processes.values():
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def stack(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    if servers.postgres is None:
        pytest.skip("needs the embedded PostgreSQL (its psql) to run deploy/postgres/init")
    root = tmp_path_factory.mktemp("local-stack")
    compose, env = load_compose(), example_env()
    stack = LocalStack(root, env, fresh_database(servers.database_url, prefix="stack"))
    _init_postgres(servers, stack.database_url, compose, env)
    nats = NatsProcess(nats_conf_copy(root, root / "jetstream"), nats_environment(env, compose),
                       root / "nats.log").start()  # fmt: skip
    services = compose["services"]
    present = [n for n in services if n in SERVICES and n in installed_services()]
    stack.base_port = free_base_port()
    ports = {n: stack.base_port + DEFAULT_PORTS[n] - 8000 for n in present}
    hosts = {n: ("127.0.0.1", p) for n, p in ports.items()}
    hosts["postgres"] = ("127.0.0.1", DatabaseParts(stack.database_url).port)
    hosts["nats"] = ("127.0.0.1", nats.port)
    try:
        for name in [n for n, s in services.items() if s.get("restart") == "no"]:
            _run_one_shot(name, services[name], stack, hosts)
        for name in present:
            _start(name, services[name], stack, hosts)
        wait_until(lambda: _ready(stack), 150, "every compose service ready")
        yield stack
    finally:
        _stop(stack)
        nats.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_every_caseline_service_of_the_compose_file_is_up(stack):
    assert set(stack.urls) == set(installed_services())
    for url in stack.urls.values():
        assert httpx.get(f"{url}/readyz").json()["status"] == "ready"


def test_caseline_demo_runs_end_to_end_through_the_compose_stack(stack):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    env["CASELINE_TOKEN_SIGNING_KEY"] = stack.env["CASELINE_TOKEN_SIGNING_KEY"]

    demo = subprocess.run(
        [_caseline(), "demo", "--base-port", str(stack.base_port)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "chain verified: yes" in demo.stdout


def test_the_demo_speaks_the_language_asked_for(stack):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    env["CASELINE_TOKEN_SIGNING_KEY"] = stack.env["CASELINE_TOKEN_SIGNING_KEY"]
    env["CASELINE_LANG"] = "ar"

    demo = subprocess.run(
        [_caseline(), "--lang", "fr", "demo", "--base-port", str(stack.base_port)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip

    # `--lang` wins over CASELINE_LANG; every line a person reads is French.
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "arrestation enregistrée : dossier" in demo.stdout
    assert "chaîne vérifiée : oui" in demo.stdout
    assert "arrest recorded" not in demo.stdout


def test_no_service_holds_a_key_that_mints_a_persons_token(stack):
    compose = load_compose()["services"]
    for name in stack.processes:
        env = service_environment(compose[name], stack.env)
        assert "CASELINE_TOKEN_SIGNING_KEY" not in env, name
        assert "CASELINE_JWT_SECRET" not in env, name
        assert env["CASELINE_JWT_PUBLIC_KEY"] == stack.env["CASELINE_JWT_PUBLIC_KEY"], name
    # What the development secret would mint opens nothing.
    forged = mint_token(Settings(), sub="x", agency="x", role="auditor")
    answer = httpx.get(
        f"{stack.urls['ledger']}/events", headers={"Authorization": f"Bearer {forged}"}
    )
    assert answer.status_code == 401


def test_no_service_was_refused_anything_by_nats_under_its_own_user(stack):
    # After the demo: every service published, consumed and acked with its least-privilege user.
    for name in stack.processes:
        assert "permissions violation" not in stack.log(name).lower(), name


def test_service_logs_are_json_lines_with_the_requests_correlationid_and_traceparent(stack):
    settings = Settings(token_signing_key=stack.env["CASELINE_TOKEN_SIGNING_KEY"])
    token = mint_token(settings, sub="police-1", agency="police", role="police")
    correlation = str(uuid4())
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    response = httpx.get(f"{stack.urls['intake']}/cases/{uuid4()}", headers={
        "Authorization": f"Bearer {token}", "Caseline-Correlation-Id": correlation,
        "traceparent": traceparent})  # fmt: skip

    assert response.headers["caseline-correlation-id"] == correlation
    # The request's lines may reach the file just after its answer: read until they are there.
    deadline, mine = time.monotonic() + 10, []
    while not mine and time.monotonic() < deadline:
        text = stack.log("intake")
        lines = [json.loads(x) for x in text[: text.rfind("\n") + 1].splitlines() if x[:1] == "{"]
        mine = [x for x in lines if x.get("correlationid") == correlation]
        time.sleep(0 if mine else 0.1)
    assert mine
    assert all(x["traceparent"] == traceparent for x in mine)
    assert {"time", "level", "logger", "event"} <= set(mine[0])


def test_each_service_runs_as_its_own_role_and_the_ledger_cannot_change_history(stack):
    parts = DatabaseParts(stack.database_url)

    def connect(role: str) -> psycopg.Connection[Any]:
        return psycopg.connect(host=parts.host, port=parts.port, dbname=parts.dbname, user=role,
                               autocommit=True)  # fmt: skip

    with connect("caseline_ledger") as conn:
        assert conn.execute("SELECT count(*) FROM ledger.entries").fetchone()[0] >= 2  # type: ignore[index]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE ledger.entries SET type = type")
    with connect("caseline_intake") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM ledger.entries")
    with connect("caseline_judicial") as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT count(*) FROM intake.stored_events")
