"""Connection pools that check a connection before use only when it has been idle a while.

A `SELECT 1` before every checkout (psycopg_pool's `check_connection`, the library's pre-ping) is
a round trip per transaction; a connection in steady use is known alive. One idle longer than
`IDLE_CHECK_SECONDS` may have died with a PostgreSQL restart and is checked (and replaced).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Any

from psycopg_pool import ConnectionPool

__all__ = ["IDLE_CHECK_SECONDS", "IdleCheck", "check_when_idle", "idle_checked_pool"]

IDLE_CHECK_SECONDS = 1.0
"""A pooled connection idle longer than this is checked before use (PostgreSQL may have
restarted meanwhile); one in steady use is not: a round trip fewer per transaction."""


class IdleCheck:
    """A pool's `check` and `reset`: the check (`ping`, psycopg_pool's `SELECT 1` by default)
    runs at a checkout only for a connection returned more than `IDLE_CHECK_SECONDS` ago."""

    def __init__(self, ping: Callable[[Any], None] | None = None) -> None:
        self.ping = ping or ConnectionPool.check_connection
        self.returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def check(self, conn: Any) -> None:
        if time.monotonic() - self.returned.get(conn, float("-inf")) > IDLE_CHECK_SECONDS:
            self.ping(conn)

    def reset(self, conn: Any) -> None:
        self.returned[conn] = time.monotonic()


def idle_checked_pool(conninfo: str, **options: Any) -> ConnectionPool[Any]:
    """A psycopg pool (`options` as `ConnectionPool` takes them) with an `IdleCheck`."""
    idle = IdleCheck()
    return ConnectionPool(conninfo, check=idle.check, reset=idle.reset, **options)


def check_when_idle(pool: Any) -> None:
    """Give a pool made elsewhere (the event store's, by the library, with its pre-ping as its
    check and no reset) an `IdleCheck` in place of its check: psycopg_pool keeps them as
    `_check` and `_reset`, read at each checkout and each return."""
    idle = IdleCheck(pool._check)
    pool._check, pool._reset = idle.check, idle.reset
