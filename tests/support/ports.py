"""Ports for a whole stack started by a test (`caseline up`, `caseline demo`): a base port B with
the services' ports B+1 … B+5 free."""

from __future__ import annotations

import contextlib
import random
import socket

from shared.kit.runtime import DEFAULT_PORTS

__all__ = ["free_base_port"]


def free_base_port() -> int:
    """A base B whose services' ports (B + each default port - 8000) are all free at once.

    Chosen at random below the ephemeral range, so that tests running side by side (one worker
    each) do not pick the same ports, nor ports the system hands out for port 0.
    """
    for _ in range(100):
        base = random.randrange(20_000, 32_000, 10)
        with contextlib.ExitStack() as held:
            try:
                for port in DEFAULT_PORTS.values():
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", base + port - 8000))
            except OSError:
                continue
            return base
    raise AssertionError("no five free ports in a row")
