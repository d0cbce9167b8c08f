"""What the state machines of the fast tier share: times, `Meta`, the check that the rules allow
a command exactly when the model says so, and the check that replay rebuilds the live aggregate
(event bodies only assign, so the events must carry everything).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate
from hypothesis import event
from hypothesis.control import currently_in_test_context

from shared.kit.domain import Meta
from shared.kit.errors import RuleViolation

__all__ = ["T0", "Events", "at", "attempt", "meta", "note"]

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
"""The moment each machine's story starts (an arrest, a programme's creation)."""


def at(hours: float) -> datetime:
    """`hours` after `T0`."""
    return T0 + timedelta(hours=hours)


def meta(actor: str = "tester", when: datetime = T0, agency: str = "agency") -> Meta:
    """The `Meta` of one new event: a fresh id, who recorded it, for which agency, and when."""
    return Meta(event_id=uuid4(), subject="case", actor=actor, agency=agency, recorded_at=when)


def note(label: str) -> None:
    """Count what the examples reached (`--hypothesis-show-statistics`)."""
    if currently_in_test_context():
        event(label)


def attempt(
    allowed: bool,
    command: Callable[[], Any],
    refusals: type[Exception] | tuple[type[Exception], ...] = RuleViolation,
) -> bool:
    """Run `command`; it must be refused (by one of `refusals`) exactly when not `allowed`."""
    refusal: Exception | None = None
    try:
        command()
    except refusals as error:
        refusal = error
    if refusal is not None:
        assert not allowed, f"refused although the rules allow it: {refusal}"
        note(f"refused: {type(refusal).__name__}")
        return False
    assert allowed, "recorded although a rule forbids it"
    return True


class Events:
    """The events aggregates recorded, collected after each command, to replay at will."""

    def __init__(self) -> None:
        self.recorded: list[Any] = []

    def collect(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            new = aggregate.collect_events()
            self.recorded += new
            for recorded in new:
                note(f"recorded: {type(recorded).__qualname__}")

    def of(self, aggregate: Aggregate) -> Sequence[Any]:
        return [e for e in self.recorded if e.originator_id == aggregate.id]

    def assert_replay_equals(self, live: Aggregate) -> None:
        """The aggregate folded again from its events has the live one's state, attribute by
        attribute (pending events aside), and its version."""
        events = self.of(live)
        assert events, "the aggregate recorded no event"
        rebuilt: Any = None
        for one in events:
            rebuilt = one.mutate(rebuilt)
        assert rebuilt is not None
        assert rebuilt.version == live.version
        assert _state(rebuilt) == _state(live)


def _state(aggregate: Aggregate) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}
