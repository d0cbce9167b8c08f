"""The README's first command: `caseline up --demo` brings the stack up from nothing and records a case."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_base_port


def test_caseline_up_starts_embedded_servers_and_services_and_the_demo_verifies(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    base = free_base_port()

    result = subprocess.run(
        [sys.executable, "-m", "caseline", "up", "--demo", "--exit-after-demo",
         "--var", str(tmp_path / "var"), "--base-port", str(base)],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "PostgreSQL (embedded)" in result.stdout
    assert "NATS JetStream (embedded)" in result.stdout
    assert f"http://127.0.0.1:{base + 1}" in result.stdout
    assert "chain verified: yes" in result.stdout
