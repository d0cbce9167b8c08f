"""One delivery as the kit hands it over, whichever way it came (NATS or a webhook).

Over NATS the body is the ledger's entry as the agency may see it (`ledger_seq`, `case_seq`,
`hash`, `prev_hash`, `appended_at`, `event`, `redacted`); a webhook's body is the event itself,
a CloudEvent with the entry's place as the extensions `ledgerseq` and `ledgerhash`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Delivery", "InvalidDeliveryError"]


class InvalidDeliveryError(ValueError):
    """The body is not a Caseline delivery."""


@dataclass(frozen=True)
class Delivery:
    """An entry of the ledger as the agency may see it: its place (`ledger_seq`, `hash`) and the
    event (a CloudEvent dict; fields it may not see removed, personal fields withheld)."""

    ledger_seq: int
    hash: str
    event: dict[str, Any] = field(repr=False)
    redacted: tuple[str, ...] = ()
    case_seq: int | None = None
    prev_hash: str | None = None
    appended_at: str | None = None

    @property
    def event_id(self) -> str:
        return str(self.event["id"])

    @property
    def case_id(self) -> str:
        """The event's `subject`: its case (or the programme or instrument it is about)."""
        return str(self.event.get("subject"))

    @property
    def type(self) -> str:
        return str(self.event.get("type"))

    @property
    def withheld(self) -> bool:
        """Personal fields were withheld: resolve them through the ledger (`LedgerClient`)."""
        return self.event.get("personaldata") == "withheld"

    @classmethod
    def from_entry(cls, body: bytes | dict[str, Any]) -> Delivery:
        """A NATS delivery's body (the entry)."""
        entry = _object(body)
        try:
            return cls(
                ledger_seq=int(entry["ledger_seq"]),
                hash=str(entry["hash"]),
                event=_event(entry["event"]),
                redacted=tuple(str(p) for p in entry.get("redacted") or ()),
                case_seq=int(entry["case_seq"]) if entry.get("case_seq") is not None else None,
                prev_hash=entry.get("prev_hash"),
                appended_at=entry.get("appended_at"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDeliveryError(f"not a ledger entry: {exc}") from None

    @classmethod
    def from_cloudevent(cls, body: bytes | dict[str, Any]) -> Delivery:
        """A webhook's body (the CloudEvent, with `ledgerseq` and `ledgerhash`)."""
        event = dict(_object(body))
        try:
            ledger_seq, digest = int(event.pop("ledgerseq")), str(event.pop("ledgerhash"))
            return cls(ledger_seq=ledger_seq, hash=digest, event=_event(event))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidDeliveryError(f"not a Caseline CloudEvent: {exc}") from None


def _object(body: bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise InvalidDeliveryError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidDeliveryError("not a JSON object")
    return value


def _event(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or "id" not in value:
        raise InvalidDeliveryError("the event is not a CloudEvent with an id")
    return value
