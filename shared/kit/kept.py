"""Aggregates rebuilt from their events: the projection, and the few kept between commands.

Most aggregates are one case's, a few dozen events, rebuilt from the store at each command. A
few are shared by many cases, and their log grows with every one: a programme's enrolments,
sessions and exits (a cohort of 25 with weekly sessions writes 1,300 events in a year). Those a
service names (`CaselineApplication.kept_aggregates`) are kept in memory between commands and
brought up to date from the store at each load (only the events after the kept version), so the
store stays the one truth, whichever replica wrote last.

Only aggregates that hold **no personal value** may be kept: a case's erasure destroys its key
(`shared.kit.keystore`), and a value revealed into a kept aggregate would outlive it.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

__all__ = ["KeptAggregates", "project"]


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """The aggregate after `events` (None: from nothing).

    The library's own projection asserts each event against a runtime-checkable protocol, an
    `isinstance` walk over the protocol's members, a tenth of a reacting service's CPU in the
    bench's profile: every event of our stores is one of our aggregates' events, with `mutate`.
    """
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class KeptAggregates:
    """An LRU of aggregates of the kept types, each a prefix of its log, fast-forwarded on load.

    `events(aggregate_id, after)` gives the stored events after version `after` (None: all).
    At most `maxsize` aggregates and `max_events` events' worth are kept, the least recently
    loaded let go first: a programme of 300 participants with a year of weekly sessions (15,900
    events) takes about 6 MB, so the defaults keep a service well inside its 200 MB.
    A load returns a copy (a pickle round trip, half of `deepcopy`'s CPU): a command that fails,
    or mutates before it fails, leaves the kept aggregate as the store has it. A load that fails
    drops the kept one (it may be half-moved).
    """

    def __init__(
        self,
        kinds: tuple[type, ...],
        events: Callable[[UUID, int | None], Iterable[Any]],
        maxsize: int = 64,
        max_events: int = 100_000,
    ) -> None:
        self.kinds = kinds
        self.events = events
        self.maxsize = maxsize
        self.max_events = max_events
        self._lock = threading.Lock()
        self._entries: OrderedDict[UUID, _Entry] = OrderedDict()

    def load(self, aggregate_id: UUID) -> Any:
        """A copy of the aggregate as its log stands now; None when it has no events."""
        entry = self._entry(aggregate_id)
        with entry.lock:
            try:
                kept = entry.aggregate
                after = kept.version if kept is not None else None
                current = project(kept, self.events(aggregate_id, after))
            except BaseException:
                entry.aggregate = None
                raise
            if current is None or not isinstance(current, self.kinds):
                entry.aggregate = None
                self._forget(aggregate_id, entry)
                return current
            entry.aggregate = current
            self._trim(aggregate_id)
            # A copy through pickle (of our own object, made just now): half deepcopy's CPU.
            return pickle.loads(pickle.dumps(current, pickle.HIGHEST_PROTOCOL))  # noqa: S301

    def __len__(self) -> int:
        return sum(1 for e in self._entries.values() if e.aggregate is not None)

    def _entry(self, aggregate_id: UUID) -> _Entry:
        with self._lock:
            entry = self._entries.get(aggregate_id)
            if entry is None:
                entry = self._entries[aggregate_id] = _Entry()
                while len(self._entries) > self.maxsize:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(aggregate_id)
            return entry

    def _trim(self, keep: UUID) -> None:
        """Let the least recently loaded go while more events than `max_events` are kept."""
        with self._lock:
            kept = sum(getattr(e.aggregate, "version", 0) for e in self._entries.values())
            for aggregate_id in list(self._entries):
                if kept <= self.max_events:
                    break
                if aggregate_id != keep:
                    kept -= getattr(self._entries.pop(aggregate_id).aggregate, "version", 0)

    def _forget(self, aggregate_id: UUID, entry: _Entry) -> None:
        with self._lock:
            if self._entries.get(aggregate_id) is entry:
                del self._entries[aggregate_id]


class _Entry:
    __slots__ = ("aggregate", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.aggregate: Any = None
