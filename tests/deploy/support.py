"""Helpers of the deployment tests: read docker-compose.yml and .env.example as docker compose
would, and run nats-server with the repository's own configuration files on loopback ports.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from caseline.envfile import fill, parse
from shared.kit.servers import NatsServer, ServerProcess, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
NATS_DIR = ROOT / "deploy" / "nats"
TLS_OVERRIDE = ROOT / "deploy" / "tls" / "docker-compose.tls.yml"

_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
)


def load_compose(path: Path = COMPOSE) -> dict[str, Any]:
    """The compose file as YAML (merge keys resolved), before variable substitution."""
    return yaml.safe_load(path.read_text())  # type: ignore[no-any-return]


def variables_in(value: str) -> set[str]:
    """The names of the `${VAR…}` references in a compose value."""
    return {m.group("name") for m in _VARIABLE.finditer(value) if m.group("name")}


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `$$`."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        current = env.get(name)
        if op == ":-":
            return current if current else arg
        if op == "-":
            return current if current is not None else arg
        if op in (":?", "?") and (current is None or (op == ":?" and not current)):
            raise KeyError(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(one, value)


def example_env(*, filled: bool = True) -> dict[str, str]:
    """`.env.example` as docker compose reads it; `filled`: empty secrets get fresh values."""
    text = ENV_EXAMPLE.read_text()
    return parse(fill(text) if filled else text)


def service_environment(service: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    """A compose service's `environment`, interpolated."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {k: interpolate(str(v), env) for k, v in raw.items()}


def rewrite_urls(
    value: str, hosts: Mapping[str, tuple[str, int]], dbname: str | None = None
) -> str:
    """Point every URL in `value` (comma-separated lists too) at the local servers in `hosts`."""
    out = []
    for part in value.split(","):
        parts = urlsplit(part)
        if not parts.scheme or parts.hostname not in hosts:
            out.append(part)
            continue
        host, port = hosts[parts.hostname]
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
        path = f"/{dbname}" if dbname and parts.scheme.startswith("postgres") else parts.path
        out.append(urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment)))
    return ",".join(out)


def nats_conf_copy(directory: Path, store_dir: Path, *, cluster: bool = False) -> Path:
    """deploy/nats/ copied into `directory`, its store directory moved to `store_dir`."""
    target = directory / "nats"
    shutil.copytree(NATS_DIR, target, dirs_exist_ok=True)
    conf = target / ("cluster/node.conf" if cluster else "nats.conf")
    text = conf.read_text()
    assert "store_dir: /data/jetstream" in text
    text = text.replace("store_dir: /data/jetstream", f'store_dir: "{store_dir}"')
    # `nats-monitor` names the server on the compose network only; here, loopback (`-m` port).
    for listen in ("http: nats-monitor:8222", "http: $NATS_MONITOR_LISTEN"):
        text = text.replace(listen, "http: 127.0.0.1:8222")
    conf.write_text(text)
    return conf


def nats_environment(env: Mapping[str, str], compose: dict[str, Any]) -> dict[str, str]:
    """The environment the compose file gives the nats service (its passwords and key)."""
    values = service_environment(compose["services"]["nats"], env)
    return {**{k: v for k, v in os.environ.items() if not k.startswith("NATS_")}, **values}


@dataclass
class NatsProcess(ServerProcess):
    """A nats-server started from the repository's configuration, on loopback ports."""

    config: Path
    env: dict[str, str]
    log: Path
    port: int = field(default_factory=free_port)
    monitor: int = field(default_factory=free_port)
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> NatsProcess:
        args = [NatsServer.binary(), "-c", str(self.config), "-a", "127.0.0.1"]
        args += ["-p", str(self.port), "-m", str(self.monitor), *self.extra]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                args, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                wait_for_port(self.port, timeout=0.2)
                return self
            except TimeoutError:
                continue
        raise AssertionError(f"nats-server did not start: {self.log.read_text()[-3000:]}")

    def url(self, user: str, password: str) -> str:
        return f"nats://{user}:{password}@127.0.0.1:{self.port}"


def user_url(process: NatsProcess, env: Mapping[str, str], user: str) -> str:
    """The URL of a generated NATS user, with its password from the environment."""
    return process.url(user, env[f"NATS_PASSWORD_{user.upper().replace('-', '_')}"])


def make_stream(ops_url: str, replicas: int = 1) -> None:
    """`caseline nats-stream`, the operators' step before the services start, as a process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    env.update(CASELINE_NATS_URL=ops_url, CASELINE_STREAM_REPLICAS=str(replicas))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "caseline"), "nats-stream", "--timeout", "60"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")
