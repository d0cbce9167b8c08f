"""What a service's domain takes from the kit: the facts every stored event carries (`Meta`).

Standard library only, so that importing an aggregate never imports persistence, I/O or the web;
the store (`shared.kit.recorder`) encodes `Meta` with every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

__all__ = ["Meta"]


@dataclass(frozen=True)
class Meta:
    """What every stored event carries besides its payload: the envelope's facts."""

    event_id: UUID
    subject: str
    actor: str
    agency: str
    recorded_at: datetime
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    traceparent: str | None = None
