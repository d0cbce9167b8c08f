"""The store's mapper that seals personal fields before any event is written (crypto-shredding).

A stored event's payload keeps placeholders; its personal values travel in a `personal` attribute
encrypted under the case's key. Reading reveals them (or marks them erased once the key is gone);
the relay reads the sealed form and publishes it as the envelope's `personaldata` extension.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper, StoredEvent

from shared.events import CatalogueEvent
from shared.events.personal import CaseCipher, personal_fields, reveal, seal
from shared.kit.domain import Meta

__all__ = ["SealingMapper"]


class SealingMapper(Mapper):  # type: ignore[type-arg]
    """Seals on write, reveals on read (unless asked for the sealed form)."""

    def __init__(self, transcoder: Any, cipher: CaseCipher) -> None:
        super().__init__(transcoder)
        self.case_cipher = cipher

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        data, meta = getattr(domain_event, "data", None), getattr(domain_event, "meta", None)
        if (
            isinstance(data, CatalogueEvent)
            and isinstance(meta, Meta)
            and personal_fields(data.type_name())
            and getattr(domain_event, "personal", None) is None
        ):
            sealed = seal(data, meta.subject, str(meta.event_id), self.case_cipher)
            clone = object.__new__(type(domain_event))
            object.__setattr__(
                clone,
                "__dict__",
                {**vars(domain_event), "data": sealed.data, "personal": sealed.personaldata},
            )
            domain_event = clone
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent, *, sealed: bool = False) -> Any:
        event = super().to_domain_event(stored_event)
        state = vars(event)
        personal = state.get("personal")
        if personal is None:
            state.pop("personal", None)
            return event
        if not sealed:
            # Only `data` changes: the decorated event methods receive the event's attributes.
            meta = state["meta"]
            state["data"], _ = reveal(
                state["data"], personal, meta.subject, str(meta.event_id), self.case_cipher
            )
            state.pop("personal")
        return event
