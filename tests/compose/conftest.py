"""The compose stack in containers (`make compose-test`): one stack for the session, made as an
operator makes it — the images built, `.env` from `caseline env-file` in the image, `docker
compose up` — in a copy of the repository's files. Skipped unless CASELINE_COMPOSE_TEST=1 (the
make target sets it) and a docker daemon answers; at the end, a table of what was checked."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose.support import (
    CHECKS,
    FIGURES,
    ROOT,
    SERVICES,
    Stack,
    check,
    copy_repository,
    docker_answers,
    write_figures,
)
from tests.support.ports import free_base_port

FIGURES_FILE = ROOT / "var" / "compose-test" / "figures.json"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    mine = [i for i in items if Path(str(i.fspath)).is_relative_to(here)]
    if not mine:
        return
    reason = None
    if os.environ.get("CASELINE_COMPOSE_TEST") != "1":
        reason = "the container tests run with make compose-test (CASELINE_COMPOSE_TEST=1)"
    else:
        reason = docker_answers()
    for item in mine:
        item.add_marker(pytest.mark.compose)
        item.add_marker(pytest.mark.timeout(1800))
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not CHECKS:
        return
    width = max(len(what) for _, what, _ in CHECKS)
    terminalreporter.section("what the container tests checked")
    terminalreporter.write_line(f"{'area':<12} {'check':<{width}}  outcome")
    for area, what, outcome in CHECKS:
        terminalreporter.write_line(f"{area:<12} {what:<{width}}  {outcome}")
    write_figures(FIGURES_FILE)
    terminalreporter.write_line(f"figures: {FIGURES_FILE.relative_to(ROOT)}")


def _sizes() -> dict[str, str]:
    out = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.Size}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    wanted = ("caseline:latest", "postgres:18", "nats:2.15-alpine", "nginx:1.22",
              "python:3.11-slim", "caseline-debian:bookworm")  # fmt: skip
    return {n: s for n, s in (line.split() for line in out.splitlines()) if n in wanted}


def make_env(stack: Stack, image: str = "caseline:latest") -> None:
    """`.env` as the operator makes it: `caseline env-file` run in the image; the published ports
    moved to free ones of this host."""
    done = subprocess.run(["docker", "run", "--rm", "--entrypoint", "caseline", image, "env-file"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    text = done.stdout
    # The services' published ports, then NATS's.
    stack.base = free_base_port(range(1, 7))
    for service, offset in (*((s, SERVICES.index(s) + 1) for s in SERVICES), ("nats", 6)):
        text = re.sub(rf"^PUBLISHED_PORT_{service.upper()}=.*$",
                      f"PUBLISHED_PORT_{service.upper()}={stack.base + offset}", text, flags=re.M)  # fmt: skip
    (stack.root / ".env").write_text(text)
    (stack.root / ".env").chmod(0o600)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = copy_repository(tmp_path_factory.mktemp("compose") / "caseline")
    stack = Stack(root)
    started = time.monotonic()
    subprocess.run(["docker", "build", "-q", "-t", "caseline:latest", "."], cwd=root,
                   capture_output=True, check=True)  # fmt: skip
    FIGURES["image build (s, cached base images)"] = round(time.monotonic() - started, 1)
    make_env(stack)
    env = stack.env
    empty = [k for k, v in env.items() if not v and k not in ("OTEL_EXPORTER_OTLP_ENDPOINT",
                                                              "CASELINE_LEDGER_RETIRED_KEYS")]  # fmt: skip
    assert not empty, empty
    check("operator", "caseline env-file in the image: a complete .env", f"{len(env)} values")
    stack.compose("down", "-v", "--remove-orphans", check=False)
    started = time.monotonic()
    stack.compose("up", "-d")
    stack.wait_healthy(("postgres", "nats", *SERVICES))
    FIGURES["time to healthy, first start (s)"] = round(time.monotonic() - started, 1)
    FIGURES["image sizes"] = _sizes()
    try:
        yield stack
    finally:
        logs = stack.compose("logs", "--no-color", check=False).stdout
        (FIGURES_FILE.parent).mkdir(parents=True, exist_ok=True)
        (FIGURES_FILE.parent / "compose.log").write_text(logs)
        if os.environ.get("CASELINE_COMPOSE_KEEP") != "1":
            stack.compose("-f", "deploy/tls/docker-compose.tls.yml", "down", "-v",
                          "--remove-orphans", check=False)  # fmt: skip
            shutil.rmtree(root, ignore_errors=True)
