"""Faults in containers, under a load of commands retried with their Idempotency-Key: kill -9 of
each service's and of NATS's process, a restart of PostgreSQL, and a service started before its
dependencies. Afterwards every recorded command is in the ledger once, each service's events are
in the ledger exactly as many times as it recorded them, and every chain verifies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from tests.compose.support import (
    FIGURES,
    SERVICES,
    Load,
    Stack,
    check,
    ledger_holds_each_once,
    verify_all,
)

RECORDED: list[str] = []


def _kill9(stack: Stack, service: str) -> int:
    """SIGKILL to the container's main process, from the host: a crash, not a `docker stop`."""
    state = stack.inspect(service)
    os.kill(state["State"]["Pid"], signal.SIGKILL)
    return int(state["RestartCount"])


def _nats_back(stack: Stack, timeout: float = 120) -> float:
    started = time.monotonic()
    port = int(stack.env["PUBLISHED_PORT_NATS"])
    while time.monotonic() - started < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(16).startswith(b"INFO"):
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("nats did not come back")


@pytest.mark.parametrize("target", [*SERVICES, "nats"])
def test_a_kill_9_under_load_is_restarted_and_loses_nothing(stack: Stack, target: str):
    load = Load(stack).start()
    time.sleep(2)

    restarts = _kill9(stack, target)
    killed = time.monotonic()
    back = _nats_back(stack) if target == "nats" else stack.wait_ready(target)
    healthy = stack.wait_healthy(("nats", *SERVICES))
    time.sleep(2)
    RECORDED.extend(load.stop().event_ids)

    assert stack.inspect(target)["RestartCount"] == restarts + 1
    FIGURES[f"recovery after kill -9 of {target} (s)"] = round(back, 1)
    FIGURES[f"healthy again after kill -9 of {target} (s)"] = round(time.monotonic() - killed, 1)
    check("faults", f"kill -9 {target} under load: restarted, load completed",
          f"ready in {back:.1f} s, healthy {healthy:.0f} s later; {load.count} commands,"
          f" {load.retries} retries")  # fmt: skip


def test_a_postgres_restart_under_load_loses_nothing(stack: Stack):
    load = Load(stack).start()
    time.sleep(2)

    started = time.monotonic()
    stack.compose("restart", "postgres")
    back = max(stack.wait_ready(s) for s in SERVICES)
    time.sleep(2)
    RECORDED.extend(load.stop().event_ids)

    FIGURES["services ready after a PostgreSQL restart (s)"] = round(time.monotonic() - started, 1)
    check("faults", "PostgreSQL restarted under load: every service ready again",
          f"{time.monotonic() - started:.1f} s; {load.count} commands, {load.retries} retries")  # fmt: skip
    assert back >= 0


def test_nothing_was_lost_or_duplicated_and_every_chain_verifies(stack: Stack):
    assert len(RECORDED) > 100

    ledger_holds_each_once(stack, RECORDED)
    verify_all(stack)

    check("faults", f"{len(RECORDED)} commands: each once in the ledger; services = ledger",
          "nothing lost, nothing duplicated")  # fmt: skip
    check("faults", "caseline verify --all after the faults", "OK")


def test_a_service_started_before_its_dependencies_waits_and_becomes_healthy(stack: Stack):
    stack.compose("stop", "intake", "postgres", "nats")
    since = stack.inspect("intake")["State"]["FinishedAt"]
    stack.compose("up", "-d", "--no-deps", "intake")
    restarts = stack.inspect("intake")["RestartCount"]
    time.sleep(15)
    waiting = stack.inspect("intake")["State"]

    started = time.monotonic()
    stack.compose("up", "-d", "--no-deps", "postgres", "nats")
    ready = stack.wait_ready("intake")
    stack.wait_healthy(("postgres", "nats", *SERVICES))
    logs = subprocess.run(["docker", "logs", "--since", since, stack.container("intake")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lines = (logs.stdout + logs.stderr).splitlines()
    waited = [line for line in lines if "waiting for PostgreSQL at postgres:5432" in line]
    answered = [line for line in lines if "PostgreSQL at postgres:5432 answered after" in line]

    assert waiting["Running"] and not waiting["Restarting"], waiting
    assert stack.inspect("intake")["RestartCount"] == restarts, "it crashed and was restarted"
    assert waiting["StartedAt"] == stack.inspect("intake")["State"]["StartedAt"]
    assert len(waited) >= 3 and answered, lines[-20:]
    assert time.monotonic() - started < 240
    FIGURES["intake ready after its late dependencies started (s)"] = round(ready, 1)
    check("faults", "intake started before PostgreSQL and NATS: waits running, then healthy",
          f"{len(waited)} 'waiting for PostgreSQL' lines, no restart; ready {ready:.1f} s after"
          " they started")  # fmt: skip
