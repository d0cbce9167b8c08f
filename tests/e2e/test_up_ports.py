"""`caseline up` refuses to start when a port it needs is taken, and names the port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_base_port


def test_caseline_up_refuses_a_taken_service_port_and_starts_nothing(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
    base = free_base_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", base + 3))
        holder.listen()

        result = subprocess.run(
            [sys.executable, "-m", "caseline", "up", "--exit-after-demo",
             "--var", str(tmp_path / "var"), "--base-port", str(base)],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {base + 3}" in result.stderr
    assert "the programmes service needs it" in result.stderr
    assert "PostgreSQL (embedded)" not in result.stdout
    assert not (tmp_path / "var" / "postgres").exists()
