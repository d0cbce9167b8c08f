"""Connection pools that check a connection before use only when it has been idle a while.

A `SELECT 1` before every checkout (psycopg_pool's `check_connection`, the library's pre-ping) is
a round trip per transaction; a connection in steady use is known alive. One idle longer than
`IDLE_CHECK_SECONDS` may have died with a PostgreSQL restart and is checked (and replaced).
"""

from __future__ import annotations

import threading
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
    """A pool's `check`: the ping (psycopg_pool's `SELECT 1` by default) runs at a checkout only
    for a connection not handed out in the last `IDLE_CHECK_SECONDS`.

    Timed from the connection's previous checkout, not from its return: a `reset` callback, which
    could note the return, makes psycopg_pool hand every returned connection to a worker thread,
    a thread switch per transaction (5-9 % of each service's CPU in the bench's profile). The time
    since the previous checkout is never shorter than since the return: a connection is checked
    at least as often."""

    def __init__(self, ping: Callable[[Any], None] | None = None) -> None:
        self.ping = ping or ConnectionPool.check_connection
        self.handed_out: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def check(self, conn: Any) -> None:
        now = time.monotonic()
        with self._lock:
            previous = self.handed_out.get(conn)
            self.handed_out[conn] = now
        if previous is None or now - previous > IDLE_CHECK_SECONDS:
            self.ping(conn)


def idle_checked_pool(conninfo: str, **options: Any) -> ConnectionPool[Any]:
    """A psycopg pool (`options` as `ConnectionPool` takes them) with an `IdleCheck`."""
    return ConnectionPool(conninfo, check=IdleCheck().check, **options)


def check_when_idle(pool: Any) -> None:
    """Give a pool made elsewhere (the event store's, by the library, with its pre-ping as its
    check) an `IdleCheck` in place of its check: psycopg_pool keeps it as `_check`, read at each
    checkout."""
    pool._check = IdleCheck(pool._check).check
