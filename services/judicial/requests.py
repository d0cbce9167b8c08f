"""Command bodies of the judicial API: catalogue payloads less what judicial fills in itself (the
ids of new hearings, release and erasure orders, the release date of a sentence, default terms
from the rules), and the class of offence whose limits apply to charges."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.events.judicial import (
    CaseSealed,
    ChargesFiled,
    ErasureOrdered,
    HearingAdjourned,
    HearingHeld,
    HearingScheduled,
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    ReleaseOrdered,
    SentenceImposed,
)
from shared.kit.requests import RequestModel, request_model

__all__ = [
    "AdjournedRequest",
    "ChargesRequest",
    "DetentionOrderRequest",
    "ErasureOrderRequest",
    "HearingRequest",
    "HeldRequest",
    "ReleaseOrderRequest",
    "RenewalRequest",
    "SealRequest",
    "SentenceRequest",
]

RuleName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


@request_model(ChargesFiled)
class ChargesRequest(RequestModel):
    """`ChargesFiled`, and the class of offence whose detention limits apply."""

    offence_class: RuleName | None = Field(
        default=None,
        description="Class in the jurisdiction's rules (e.g. `crime`); default: its default.",
    )


# The catalogue's check of `expires_at` waits for judicial to fill it in (then a 422 names it).
@request_model(PreTrialDetentionOrdered, optional={"expires_at"}, validators=False)
class DetentionOrderRequest(RequestModel):
    """`PreTrialDetentionOrdered`; `expires_at` defaults to the class's initial term."""


@request_model(PreTrialDetentionRenewed, optional={"expires_at"}, validators=False)
class RenewalRequest(RequestModel):
    """`PreTrialDetentionRenewed`; `expires_at` defaults to one renewal term, within the maximum."""


@request_model(HearingScheduled, exclude={"hearing_id"})
class HearingRequest(RequestModel):
    """`HearingScheduled` less `hearing_id`, which judicial gives."""


@request_model(HearingHeld, exclude={"hearing_id"})
class HeldRequest(RequestModel):
    """`HearingHeld` less `hearing_id` (in the path)."""


@request_model(HearingAdjourned, exclude={"hearing_id"})
class AdjournedRequest(RequestModel):
    """`HearingAdjourned` less `hearing_id` (in the path)."""


@request_model(SentenceImposed, exclude={"release_date"})
class SentenceRequest(RequestModel):
    """`SentenceImposed` less `release_date`, which judicial computes."""


@request_model(ReleaseOrdered, exclude={"release_order_id"})
class ReleaseOrderRequest(RequestModel):
    """`ReleaseOrdered` less `release_order_id`, which judicial gives."""


@request_model(ErasureOrdered, exclude={"erasure_order_id"}, optional={"ordered_by"})
class ErasureOrderRequest(RequestModel):
    """`ErasureOrdered` less `erasure_order_id`, which judicial gives; `ordered_by` defaults to
    the judge making the request."""


@request_model(CaseSealed, optional={"sealed_by"})
class SealRequest(RequestModel):
    """`CaseSealed` by order; `sealed_by` defaults to the judge making the request."""
