"""What a receiver remembers of the events it handled, so that a repeat is skipped.

Deliveries are at least once (a lost ack, a crash between handling and acking, a webhook retried
after a timeout): a receiver keeps each handled event's id and skips it when it comes again.
`SqliteSeen` keeps them in a file, across restarts; `MemorySeen` for tests and short-lived ones;
any object with `seen` and `add` will do, e.g. the table the handler itself writes to.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Protocol

__all__ = ["MemorySeen", "Seen", "SqliteSeen"]


class Seen(Protocol):
    """Remembers handled ids."""

    def seen(self, key: str) -> bool: ...

    def add(self, key: str) -> None: ...


class MemorySeen:
    """Ids remembered in memory, for `ttl` seconds when given."""

    def __init__(self, ttl: float | None = None) -> None:
        self.ttl = ttl
        self._ids: dict[str, float] = {}
        self._lock = threading.Lock()

    def seen(self, key: str) -> bool:
        with self._lock:
            added = self._ids.get(key)
            return added is not None and (self.ttl is None or time.monotonic() - added < self.ttl)

    def add(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            if self.ttl is not None:
                self._ids = {k: t for k, t in self._ids.items() if now - t < self.ttl}
            self._ids[key] = now


class SqliteSeen:
    """Ids remembered in a SQLite file (table `seen_events`), across restarts.

    Write-ahead log with `synchronous=NORMAL`: a mark survives the process crashing; a power cut
    may lose the last ones, and then an event is handled once more, as after a lost ack.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS seen_events (id TEXT PRIMARY KEY, handled_at REAL NOT NULL)"
        )
        self._lock = threading.Lock()

    def seen(self, key: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM seen_events WHERE id = ?", (key,)).fetchone()
        return row is not None

    def add(self, key: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO seen_events (id, handled_at) VALUES (?, ?)",
                (key, time.time()),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
