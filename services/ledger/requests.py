"""Request bodies of the ledger's routes: a witness's cosignature, a reconciliation question, an
agency's webhook endpoint and a replay. (The ledger records no commands: nothing here comes from
the catalogue.)"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_EVENT_IDS",
    "CosignatureRequest",
    "EndpointRequest",
    "MissingQuestion",
    "ReplayRequest",
]

MAX_EVENT_IDS = 5000
"""Event ids one reconciliation question may hold."""


class CosignatureRequest(BaseModel):
    """A witness's Ed25519 signature over the checkpoint's cosignature message (base64)."""

    model_config = ConfigDict(extra="forbid")

    witness: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    signature: str = Field(min_length=1, max_length=200)


class MissingQuestion(BaseModel):
    """Event ids a service recorded and published."""

    model_config = ConfigDict(extra="forbid")

    event_ids: Annotated[list[UUID], Field(max_length=MAX_EVENT_IDS)]


class EndpointRequest(BaseModel):
    """Where the agency's deliveries go: an https URL (http outside production)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://[^\s]+$")


class ReplayRequest(BaseModel):
    """Send again everything the agency may see from this ledger position on."""

    model_config = ConfigDict(extra="forbid", strict=True)

    # 2**53 - 1: the largest integer every JSON reader holds exactly.
    from_ledger_seq: int = Field(ge=1, le=2**53 - 1)
