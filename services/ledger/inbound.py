"""What the ledger does with every service's events: its intake from the bus validates each
envelope against the catalogue and its origin (signed by the service owning its type, on that
type's subject of its case), then appends.

A message that fails either is dead-lettered with the reason and never stored; the consumer
keeps going. Dead letters themselves (on `caseline.deadletter.>`) are not ledger entries. Unlike
the other services' reactions (one application method per event type), the ledger takes every
event alike, a batch per transaction: its consumer is one batch handler, `LedgerIntake`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from services.ledger.application import LedgerApplication
from services.ledger.store import Appendable, LedgerStore
from shared.events import (
    DEADLETTER_PREFIX,
    Envelope,
    EnvelopeError,
    load_envelope,
    validate_envelope,
)
from shared.kit.access_facts import access_ops
from shared.kit.origins import OriginKeys, origin_keys, origin_problems
from shared.kit.recorder import Op
from shared.kit.subscriber import ACK, Dead, Delivery, Outcome, Retry

__all__ = ["LedgerIntake", "reactions"]


def reactions(app: LedgerApplication) -> list[LedgerIntake]:
    """One durable consumer, `ledger`, of every event (`caseline.>`)."""
    keys = origin_keys(app.settings)
    return [LedgerIntake(app.store, app.settings.subject_prefix, app.note_access, keys=keys)]


class LedgerIntake:
    """The batch handler of the ledger's durable consumer of `caseline.>`."""

    consumer = ""
    """The durable consumer is the service's own name, `ledger`."""

    batch = 1024
    """Messages fetched at a time, and appended in one transaction (and one tree extension): a
    backlog is appended in a few large batches; a live event is fetched at once all the same."""

    def __init__(
        self,
        store: LedgerStore,
        subject_prefix: str = "",
        note_access: Callable[[list[Op], Any], None] | None = None,
        *,
        keys: OriginKeys,
    ) -> None:
        self.store = store
        self.subject_prefix = subject_prefix
        self.keys = keys
        self.deadletter_prefix = subject_prefix + DEADLETTER_PREFIX
        self.note_access = note_access

    def subjects(self) -> list[str]:
        return ["caseline.>"]

    def __call__(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome | None] = []
        valid: list[tuple[int, Delivery, dict[str, Any], Envelope, Any]] = []
        for delivery in deliveries:
            if delivery.subject.startswith(self.deadletter_prefix):
                outcomes.append(ACK)
                continue
            try:
                document = load_envelope(delivery.data)
                envelope, event = validate_envelope(document)
            except EnvelopeError as exc:
                outcomes.append(Dead(exc.reason))
                continue
            outcomes.append(None)
            valid.append((len(outcomes) - 1, delivery, document, envelope, event))
        # The batch's origin signatures checked together (on every core for a backlog).
        forgeries = origin_problems(
            [(document, envelope, d.subject) for _, d, document, envelope, _ in valid],
            self.subject_prefix,
            self.keys,
        )
        items: list[Appendable] = []
        access: list[Op] = []
        for (index, delivery, document, envelope, event), forged in zip(
            valid, forgeries, strict=True
        ):
            if forged is not None:
                outcomes[index] = Dead(forged, origin=True)
                continue
            msg_id = delivery.headers.get("Nats-Msg-Id")
            if msg_id is not None and msg_id != str(envelope.id):
                outcomes[index] = Dead("Nats-Msg-Id differs from the event id")
                continue
            items.append(
                Appendable(
                    event_id=str(envelope.id),
                    case_id=str(envelope.subject),
                    type=envelope.type,
                    time=_as_datetime(envelope.time),
                    recordedtime=_as_datetime(envelope.recordedtime),
                    envelope=document,
                )
            )
            access += access_ops(
                envelope.type, str(envelope.subject), envelope.id, str(envelope.agency or ""), event
            )
            outcomes[index] = ACK
        try:
            # The access rows in the append's own transaction: a sealed case is hidden from the
            # instant its seal is in the ledger, never a moment later.
            note = self.note_access
            self.store.append(items, also=None if note is None else lambda conn: note(access, conn))
        except Exception as exc:
            return [Retry(f"the ledger store failed: {exc!r}") for _ in deliveries]
        return [ACK if outcome is None else outcome for outcome in outcomes]


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
