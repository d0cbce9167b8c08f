"""The store's mapper that seals personal fields before any event is written (crypto-shredding).

A stored event's payload keeps placeholders; its personal values travel in a `personal` attribute
encrypted under the case's key. Reading reveals them (or marks them erased once the key is gone);
the relay reads the sealed form and publishes it as the envelope's `personaldata` extension.

A service's internal event that copies a personal value (a name learnt from another service)
names those attributes in a `personal_attributes` class variable: they are sealed the same way,
under the key of the case its aggregate is (the aggregate's id is the case id).
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from shared.events import CatalogueEvent
from shared.events.personal import (
    ENCRYPTED,
    ERASED,
    CaseCipher,
    personal_fields,
    reveal,
    reveal_document,
    seal,
    seal_values,
)
from shared.kit.domain import Meta

__all__ = ["SealingMapper"]


def _internal_event_id(state: dict[str, Any]) -> str:
    """What binds an internal event's ciphertext to it: its place in the case's aggregate."""
    return f"{state['originator_id']}@{state['originator_version']}"


class SealingMapper(Mapper):  # type: ignore[type-arg]
    """Seals on write, reveals on read (unless asked for the sealed form)."""

    def __init__(self, transcoder: Any, cipher: CaseCipher) -> None:
        super().__init__(transcoder)
        self.case_cipher = cipher

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        if getattr(domain_event, "personal", None) is None:
            replaced = self._sealed_catalogue(domain_event) or self._sealed_internal(domain_event)
            if replaced is not None:
                clone = object.__new__(type(domain_event))
                object.__setattr__(clone, "__dict__", {**vars(domain_event), **replaced})
                domain_event = clone
        return super().to_stored_event(domain_event)

    def _sealed_catalogue(self, domain_event: Any) -> dict[str, Any] | None:
        data, meta = getattr(domain_event, "data", None), getattr(domain_event, "meta", None)
        if not (
            isinstance(data, CatalogueEvent)
            and isinstance(meta, Meta)
            and personal_fields(data.type_name())
        ):
            return None
        sealed = seal(data, meta.subject, str(meta.event_id), self.case_cipher)
        return {"data": sealed.data, "personal": sealed.personaldata}

    def _sealed_internal(self, domain_event: Any) -> dict[str, Any] | None:
        names = getattr(type(domain_event), "personal_attributes", ())
        state = vars(domain_event)
        values = {n: state[n] for n in names if state.get(n) not in (None, ENCRYPTED, ERASED)}
        if not values:
            return None
        case_id = str(state["originator_id"])
        personal = seal_values(values, case_id, _internal_event_id(state), self.case_cipher)
        return {**dict.fromkeys(values, ENCRYPTED), "personal": personal}

    def to_domain_event(self, stored_event: StoredEvent, *, sealed: bool = False) -> Any:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        personal = state.get("personal")
        if personal is None:
            state.pop("personal", None)
            return event
        if sealed:
            return event
        meta = state.get("meta")
        if isinstance(meta, Meta) and isinstance(state.get("data"), CatalogueEvent):
            # Only `data` changes: the decorated event methods receive the event's attributes.
            state["data"], _ = reveal(
                state["data"], personal, meta.subject, str(meta.event_id), self.case_cipher
            )
        else:
            case_id = str(state["originator_id"])
            reveal_document(state, personal, case_id, _internal_event_id(state), self.case_cipher)
        state.pop("personal")
        return event
