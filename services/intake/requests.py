"""Command bodies of the intake API: catalogue payloads less what intake fills in itself (the
legal limit of custody, from the jurisdiction's rules; whether the person was a minor; the
person, a new one), the erasure requests and the person links."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.base import PayloadModel, ShortText
from shared.events.intake import ArrestRecorded, CustodyStarted, LinkKind
from shared.kit.requests import RequestModel, request_model

__all__ = [
    "ArrestRequest",
    "CustodyRequest",
    "ErasureConfirmation",
    "ErasureRequest",
    "LinkProposal",
    "LinkRejection",
]


@request_model(ArrestRecorded, exclude={"person_id", "minor_at_facts"})
class ArrestRequest(RequestModel):
    """`ArrestRecorded` less what intake fills: `person_id` (each arrest names a new person; links
    come after) and `minor_at_facts` (computed from the person's age)."""


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


class LinkProposal(PayloadModel):
    """A registrar's proposal: the case names `person_id` (`link`), or its own person again
    (`unlink`, no `person_id`). Nothing changes until a second person confirms."""

    kind: LinkKind
    person_id: UUID | None = Field(
        default=None, description="The person to name (a candidate's `person_id`); for a link only."
    )
    reason: ShortText
    match_reasons: Annotated[tuple[ShortText, ...], Field(max_length=20)] = Field(
        default=(), description="The candidate's `reasons`, as the registry gave them."
    )

    @model_validator(mode="after")
    def _person_for_a_link_only(self) -> LinkProposal:
        if (self.kind is LinkKind.LINK) != (self.person_id is not None):
            raise ValueError("a link names person_id; an unlink names none")
        return self


class LinkRejection(PayloadModel):
    """Why the proposed link is rejected."""

    reason: ShortText
