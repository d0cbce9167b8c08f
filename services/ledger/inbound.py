"""What the ledger does with every service's events: its intake from the bus validates each
envelope against the catalogue and its origin (signed by the service owning its type, on that
type's subject of its case), then appends.

A message that fails either is dead-lettered with the reason and never stored; the consumer
keeps going (whatever checking one message raises is that message's refusal, never the batch's).
So is an envelope under an event id the ledger holds with another envelope: nothing of it applies.
Dead letters themselves (on `caseline.deadletter.>`) are not ledger entries. Unlike the other
services' reactions (one application method per event type), the ledger takes every event alike,
a batch per transaction: its consumer is one batch handler, `LedgerIntake`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

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

log = logging.getLogger("caseline.ledger")


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
            except Exception as exc:
                outcomes.append(_unchecked(delivery, exc))
                continue
            outcomes.append(None)
            valid.append((len(outcomes) - 1, delivery, document, envelope, event))
        # The batch's origin signatures checked together (on every core for a backlog), each
        # document's failure its own refusal.
        forgeries = origin_problems(
            [(document, envelope, d.subject) for _, d, document, envelope, _ in valid],
            self.subject_prefix,
            self.keys,
        )
        items: list[Appendable] = []
        # Each item's access facts and outcome, by the item itself (`Appended` hands it back).
        implied: dict[int, tuple[int, list[Op]]] = {}
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
            try:
                item = _appendable(envelope, document)
                ops = access_ops(
                    envelope.type, str(envelope.subject), envelope.id, envelope.agency, event
                )
            except Exception as exc:
                outcomes[index] = _unchecked(delivery, exc)
                continue
            items.append(item)
            implied[id(item)] = (index, ops)
            outcomes[index] = ACK
        note = self.note_access

        def also(conn: psycopg.Connection[Any], appended: Sequence[Appendable]) -> None:
            # The access rows of the entries appended, and of no other, in the append's own
            # transaction: a sealed case is hidden from the instant its seal is in the ledger.
            if note is not None:
                note([op for item in appended for op in implied[id(item)][1]], conn)

        try:
            done = self.store.append_batch(items, also=also)
        except Exception as exc:
            return [Retry(f"the ledger store failed: {exc!r}") for _ in deliveries]
        for item in done.conflicts:
            reason = f"event id {item.event_id} is in the ledger with another envelope: refused"
            log.error("%s (type %s, case %s)", reason, item.type, item.case_id)
            outcomes[implied[id(item)][0]] = Dead(reason)
        return [ACK if outcome is None else outcome for outcome in outcomes]


def _appendable(envelope: Envelope, document: dict[str, Any]) -> Appendable:
    return Appendable(
        event_id=str(envelope.id),
        case_id=str(envelope.subject),
        type=envelope.type,
        time=_as_datetime(envelope.time),
        recordedtime=_as_datetime(envelope.recordedtime),
        envelope=document,
    )


def _unchecked(delivery: Delivery, exc: Exception) -> Dead:
    """The refusal of a message whose checking raised: its own, never a failed batch (a retry
    would meet the same and hold back every message behind it)."""
    reason = f"the envelope could not be checked: {exc!r:.500}"
    log.error("%s: %s", delivery.subject, reason)
    return Dead(reason)


def _as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
