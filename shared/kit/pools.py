"""Connection pools that check a connection before use only when it has been idle a while.

A `SELECT 1` before every checkout (psycopg_pool's `check_connection`, the library's pre-ping) is
a round trip per transaction; a connection in steady use is known alive. One idle longer than
`IDLE_CHECK_SECONDS` may have died with a PostgreSQL restart and is checked (and replaced).
"""

from __future__ import annotations

import time
import weakref
from typing import Any

from psycopg_pool import ConnectionPool

__all__ = ["IDLE_CHECK_SECONDS", "check_when_idle"]

IDLE_CHECK_SECONDS = 1.0
"""A pooled connection idle longer than this is checked before use (PostgreSQL may have
restarted meanwhile); one in steady use is not: a round trip fewer per transaction."""


def check_when_idle(pool: Any) -> None:
    """Make the pool check a connection before handing it out only when it was returned more
    than `IDLE_CHECK_SECONDS` ago (with its own check, if it has one). psycopg_pool calls
    `check` at each checkout and `reset` at each return; neither is set in our pools but for
    the event store's pre-ping, which this replaces."""
    returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
    ping = pool._check or ConnectionPool.check_connection
    earlier_reset = pool._reset

    def check(conn: Any) -> None:
        if time.monotonic() - returned.get(conn, float("-inf")) > (IDLE_CHECK_SECONDS):
            ping(conn)

    def reset(conn: Any) -> None:
        if earlier_reset is not None:
            earlier_reset(conn)
        returned[conn] = time.monotonic()

    pool._check, pool._reset = check, reset
