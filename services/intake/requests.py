"""Command bodies of the intake API: catalogue payloads less what intake fills in itself (the
legal limit of custody, from the jurisdiction's rules; whether the person was a minor), and the
erasure requests."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from shared.events.base import PayloadModel, ShortText
from shared.events.intake import ArrestRecorded, CustodyStarted
from shared.kit.requests import RequestModel, request_model

__all__ = ["ArrestRequest", "CustodyRequest", "ErasureConfirmation", "ErasureRequest"]


@request_model(ArrestRecorded, exclude={"minor_at_facts"})
class ArrestRequest(RequestModel):
    """`ArrestRecorded` less `minor_at_facts`, which intake computes from the person's age."""


@request_model(CustodyStarted, exclude={"max_hours"})
class CustodyRequest(RequestModel):
    """`CustodyStarted` less `max_hours`, which comes from the jurisdiction's rules."""

    regime: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="The jurisdiction's custody regime (e.g. `terrorism`); default: its default.",
    )


class ErasureRequest(PayloadModel):
    """The first person's request to execute a judicial erasure order, and why."""

    erasure_order_id: UUID = Field(description="The order (`ErasureOrdered`) to execute.")
    reason: ShortText


class ErasureConfirmation(PayloadModel):
    """The second person's confirmation of the pending request for this order."""

    erasure_order_id: UUID
