"""Ports for a whole stack started by a test (`caseline up`, `caseline demo`, the compose stack):
a base port B with the ports the stack publishes at fixed offsets from it free."""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Iterable
from pathlib import Path

from shared.kit.runtime import DEFAULT_PORTS

__all__ = ["SERVICE_OFFSETS", "free_base_port"]

SERVICE_OFFSETS = tuple(port - 8000 for port in DEFAULT_PORTS.values())
"""Where `--base-port B` puts the services: B+1 … B+5."""


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_base_port(offsets: Iterable[int] = SERVICE_OFFSETS) -> int:
    """A base B with B + each of `offsets` free on loopback, all at once.

    Chosen at random below the kernel's ephemeral range: tests running side by side (a worker
    each) do not pick the same ports, and none is one the system hands out for port 0 (a port
    there, free now, may be a client socket's when a stack, or a container, starts later).
    """
    offsets = tuple(offsets)
    low = _ephemeral_low()
    for _ in range(100):
        base = random.randrange(10_000, max(low - 10 - max(offsets), 10_010), 10)
        with contextlib.ExitStack() as held:
            try:
                for offset in offsets:
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", base + offset))
            except OSError:
                continue
            return base
    raise AssertionError(f"no {len(offsets)} free ports at the offsets {offsets}")
