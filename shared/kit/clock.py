"""An injectable clock: services ask it the time, so tests travel in time instead of sleeping."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """The wall clock in UTC, shifted by an offset that tests (never production) may move."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = timedelta(seconds=offset_seconds)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def travel(self, delta: timedelta) -> None:
        """Move this clock forward (or back) by `delta`."""
        with self._lock:
            self._offset += delta
