"""docker-compose.yml, the Dockerfile and deploy/ hold together: health checks, dependencies,
settings the code knows, ports that do not collide, and no secret written in any file."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from caseline.stack import SERVICES
from services.ledger.deliveries import _gauges as delivery_gauges
from shared.kit.metrics import Metrics
from shared.kit.runtime import DEFAULT_PORTS
from shared.kit.settings import Settings
from tests.deploy.support import (
    COMPOSE,
    NATS_DIR,
    ROOT,
    TLS_OVERRIDE,
    example_env,
    interpolate,
    load_compose,
    service_environment,
    variables_in,
)

COMPOSE_DATA = load_compose()
SERVICES_OF = COMPOSE_DATA["services"]
ENV = example_env()
NOT_SETTINGS = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "read by the OpenTelemetry exporter itself",
    "DB_PASSWORD_LEDGER": "ledger-setup: named by its --password-env argument",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|TOKEN")


def _caseline(name: str) -> dict[str, Any]:
    return SERVICES_OF[name]  # type: ignore[no-any-return]


def _port_of(name: str) -> int:
    return int(service_environment(_caseline(name), ENV)["CASELINE_PORT"])


def test_every_service_runs_from_the_one_image_by_its_command():
    for name in SERVICES:
        service = _caseline(name)

        assert service["command"] == [f"services.{name}"]
        assert service["build"] == "."
        assert "entrypoint" not in service  # the image's `python -m`


def test_every_long_running_service_has_a_health_check_and_a_restart_policy():
    for name, service in SERVICES_OF.items():
        if service.get("restart") == "no":
            continue
        assert service.get("healthcheck", {}).get("test"), name
        assert service["restart"] in ("unless-stopped", "always"), name


def test_the_services_health_checks_ask_readyz_on_their_own_port():
    for name in SERVICES:
        test = " ".join(_caseline(name)["healthcheck"]["test"])

        assert f"http://127.0.0.1:{_port_of(name)}/readyz" in test


def test_the_services_wait_for_healthy_postgres_and_nats_and_the_ledger_for_its_setup():
    for name in SERVICES:
        depends = _caseline(name)["depends_on"]

        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["nats"] == {"condition": "service_healthy"}
    assert _caseline("ledger")["depends_on"]["ledger-setup"] == {
        "condition": "service_completed_successfully"
    }
    assert SERVICES_OF["ledger-setup"]["restart"] == "no"


def test_every_variable_given_to_a_service_is_a_setting_the_code_knows():
    known = {f"CASELINE_{name.upper()}" for name in Settings.model_fields}

    for name in [*SERVICES, "ledger-setup"]:
        env = service_environment(_caseline(name), ENV)
        unknown = {k for k in env if k not in known and k not in NOT_SETTINGS}
        assert not unknown, f"{name}: {unknown}"


def test_every_service_environment_makes_valid_production_settings():
    for name in SERVICES:
        env = service_environment(_caseline(name), ENV)
        values = {
            k.removeprefix("CASELINE_").lower(): v for k, v in env.items() if k not in NOT_SETTINGS
        }

        settings = Settings(**values)

        assert settings.environment == "production"
        assert settings.port == DEFAULT_PORTS[name]
        assert settings.host == "0.0.0.0"
        assert (settings.nats_url or "").startswith(f"nats://svc-{name}:")


def test_each_service_connects_as_its_own_database_role_and_nats_user():
    roles = {name: f"caseline_{name}" for name in SERVICES}

    for name in SERVICES:
        env = service_environment(_caseline(name), ENV)
        assert env["CASELINE_DATABASE_URL"].startswith(f"postgresql://{roles[name]}:")
        assert env["CASELINE_NATS_URL"].startswith(f"nats://svc-{name}:")


def test_published_ports_do_not_collide_and_listen_on_loopback_only():
    published: list[int] = []
    checked: set[str] = set()
    for name, service in SERVICES_OF.items():
        for mapping in service.get("ports", []):
            host_ip, host_port, container_port = interpolate(str(mapping), ENV).split(":")
            assert host_ip == "127.0.0.1", name
            published.append(int(host_port))
            if name in SERVICES:
                assert int(container_port) == _port_of(name) == DEFAULT_PORTS[name]
                checked.add(name)

    assert checked == set(SERVICES)  # every service publishes its port, and each was checked
    assert len(published) == len(set(published))


def test_no_secret_is_written_in_the_compose_file():
    secrets = 0
    for name, service in SERVICES_OF.items():
        for key, value in (service.get("environment") or {}).items():
            text = str(value)
            if SECRET_NAME.search(key):
                secrets += 1
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", text), f"{name}.{key}"
            for url in re.findall(r"[a-z]+://[^@\s,]+@", text):
                password = url.split("://", 1)[1].rsplit("@", 1)[0].partition(":")[2]
                assert not password or password.startswith("${"), f"{name}.{key}"

    assert secrets  # the compose file does pass secrets: each was checked


def test_every_variable_the_compose_file_needs_is_in_env_example_and_none_is_unused():
    overrides = (NATS_DIR / "cluster" / "docker-compose.cluster.yml", TLS_OVERRIDE)
    raw = COMPOSE.read_text() + "".join(path.read_text() for path in overrides)
    used = variables_in(raw)
    example = example_env(filled=False)

    assert used - set(example) == set()
    # The token issuer's key is the operator's (`caseline token`), never a container's; the
    # project's name is docker compose's own.
    assert set(example) - used == {"CASELINE_TOKEN_SIGNING_KEY", "COMPOSE_PROJECT_NAME"}


def test_env_example_holds_no_secret_and_env_file_fills_every_one():
    example = example_env(filled=False)
    filled = example_env()

    secrets = {k for k in example if SECRET_NAME.search(k)}
    assert secrets
    assert all(example[k] == "" for k in secrets)
    assert all(filled[k] for k in secrets)


def test_postgres_is_the_official_image_with_a_volume_and_the_roles_init():
    pg = SERVICES_OF["postgres"]

    assert pg["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql" in pg["volumes"]
    assert "./deploy/postgres/init:/docker-entrypoint-initdb.d:ro" in pg["volumes"]
    assert "./deploy/postgres/roles.sql:/etc/caseline/roles.sql:ro" in pg["volumes"]
    assert "archive_mode=on" in pg["command"]


def test_nats_is_the_official_image_with_jetstream_on_a_volume_fsync_always_and_encryption():
    nats = SERVICES_OF["nats"]
    conf = (NATS_DIR / "nats.conf").read_text()

    assert nats["image"].startswith("nats:")
    assert "natsdata:/data" in nats["volumes"]
    assert nats["command"] == ["-c", "/etc/nats/nats.conf"]
    assert "store_dir: /data/jetstream" in conf
    assert re.search(r"^\s*sync_interval: always$", conf, re.M)
    assert re.search(r"^\s*cipher: chachapoly$", conf, re.M)
    assert re.search(r"^\s*key: \$NATS_JETSTREAM_KEY$", conf, re.M)
    assert "include ./agencies.conf" in conf


@pytest.mark.parametrize("config", ["nats.conf", "cluster/node.conf"])
def test_the_nats_service_gets_every_variable_its_configuration_reads(config):
    text = (NATS_DIR / config).read_text() + (NATS_DIR / "agencies.conf").read_text()
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    needed = {v for line in lines for v in re.findall(r"\$([A-Z][A-Z0-9_]*)", line)} - {"JS"}
    cluster = load_compose(NATS_DIR / "cluster" / "docker-compose.cluster.yml")["services"]

    given = set(SERVICES_OF["nats"]["environment"]) | set(cluster["nats"]["environment"])
    assert needed  # the configuration does read variables (passwords, the agencies' keys)
    if config == "nats.conf":
        assert needed <= set(SERVICES_OF["nats"]["environment"])
    else:
        for node in ("nats-2", "nats-3"):
            assert needed <= set(cluster[node]["environment"]), node
        assert needed <= given


def test_the_cluster_override_gives_every_service_all_three_nodes_and_three_replicas():
    cluster = load_compose(NATS_DIR / "cluster" / "docker-compose.cluster.yml")["services"]

    for name in SERVICES:
        env = cluster[name]["environment"]
        urls = env["CASELINE_NATS_URL"].split(",")
        assert [u.rsplit("@", 1)[1] for u in urls] == ["nats-1:4222", "nats-2:4222", "nats-3:4222"]
        assert all(u.startswith(f"nats://svc-{name}:${{") for u in urls)
        assert env["CASELINE_STREAM_REPLICAS"] == "3"


def test_the_dockerfile_is_multi_stage_slim_pinned_and_runs_as_a_user():
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M)
    final = text[text.rindex("\nFROM ") :]

    assert len(stages) >= 2
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert "-c constraints.txt" in text
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert users
    assert not users[-1].startswith(("root", "0"))
    assert 'ENTRYPOINT ["python", "-m"]' in final
    assert 'CMD ["services.intake"]' in final


def test_the_dockerignore_keeps_secrets_and_the_virtualenv_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().split()

    assert {".env", ".venv", ".git", "tests", "var"} <= set(ignored)


def test_the_example_dashboard_shows_only_metrics_the_services_export():
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/caseline.json").read_text())
    metrics, ledger = Metrics("intake"), Metrics("ledger")
    delivery_gauges(ledger)
    exported = {m.name for r in (metrics, ledger) for m in r.registry.collect()}
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    shown = [name for expr in exprs for name in re.findall(r"\b(caseline_[a-z_]+)", expr)]

    assert shown
    for name in shown:
        base = re.sub(r"_(bucket|count|sum|total)$", "", name)
        assert base in exported, name
    assert {p["datasource"]["uid"] for p in dashboard["panels"]} == {"caseline-prometheus"}


def test_the_dashboard_shows_each_agencys_lag_parked_and_last_delivery():
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/caseline.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]

    for metric in ("lag_messages", "parked_messages", "last_timestamp_seconds"):
        (expr,) = [e for e in exprs if f"caseline_delivery_{metric}" in e]
        assert "by (agency)" in expr


def test_every_command_block_of_operations_md_says_whether_make_compose_test_runs_it():
    text = (ROOT / "docs" / "operations.md").read_text()
    marked = re.findall(r"<!-- compose-test: (run-fresh|run|skip)[^>]*-->\n```sh\n", text)

    assert marked
    assert len(marked) == text.count("```sh\n")


def test_the_tls_override_mounts_what_nginx_and_nats_read():
    tls = load_compose(TLS_OVERRIDE)["services"]
    conf = (NATS_DIR / "tls.conf").read_text()
    nginx = (ROOT / "deploy" / "tls" / "nginx.conf").read_text()
    nats_dir, proxy_dir = (
        next(interpolate(v, ENV).split(":")[1] for v in tls[s]["volumes"] if "TLS_CERT_DIR" in v)
        for s in ("nats", "proxy")
    )

    assert tls["nats"]["command"] == ["-c", "/etc/nats/tls.conf"]
    assert "include ./nats.conf" in conf
    assert re.findall(r"(?:cert|key)_file: (\S+)", conf) == [
        f"{nats_dir}/server.crt", f"{nats_dir}/server.key"]  # fmt: skip
    assert not nats_dir.startswith("/etc/nats/")  # not inside the read-only mount of deploy/nats
    assert f"ssl_certificate {proxy_dir}/server.crt;" in nginx
    for name in SERVICES:
        assert tls[name]["environment"]["SSL_CERT_FILE"] == "/etc/caseline/tls/ca.crt"
    ports = {int(p) for p in re.findall(r"listen (\d+) ssl", nginx)}
    assert ports == {8440 + DEFAULT_PORTS[n] - 8000 for n in SERVICES}
    # The operators' counters are not served to the outside through the proxy.
    assert nginx.count("location = /metrics { return 404; }") == len(SERVICES)
