"""A command's body derived from its catalogue model keeps what the catalogue says of each field
(type, constraints, description), the model's rules, and the body's own additions."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import Field, ValidationError, model_validator

from shared.events.judicial import HearingScheduled, PreTrialDetentionOrdered
from shared.events.programmes import ReferralMade
from shared.kit.requests import RequestModel, VoidRequest, request_model

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@request_model(HearingScheduled, exclude={"hearing_id"})
class HearingRequest(RequestModel):
    """A hearing to schedule."""

    note: str | None = Field(default=None, max_length=10, description="A body's own field.")

    @model_validator(mode="after")
    def _no_shouting(self) -> HearingRequest:
        if self.note is not None and self.note.isupper():
            raise ValueError("no shouting")
        return self


@request_model(ReferralMade, exclude={"referral_id"})
class ReferralRequest(RequestModel):
    """A referral to make."""


@request_model(PreTrialDetentionOrdered, optional={"expires_at"}, validators=False)
class OrderRequest(RequestModel):
    """An order whose expiry the service may fill in."""


HEARING = {"court": "Pôle judiciaire", "scheduled_for": NOW.isoformat(), "purpose": "Bail"}


def test_the_fields_the_service_fills_in_are_left_out() -> None:
    assert "hearing_id" not in HearingRequest.model_fields
    with pytest.raises(ValidationError, match="hearing_id"):
        HearingRequest.model_validate({**HEARING, "hearing_id": str(uuid4())})


def test_the_catalogue_fields_come_first_then_the_body_s_own() -> None:
    assert list(HearingRequest.model_fields) == ["court", "scheduled_for", "purpose", "note"]


def test_each_field_keeps_its_catalogue_schema() -> None:
    derived = HearingRequest.model_json_schema()["properties"]
    catalogue = HearingScheduled.model_json_schema()["properties"]

    assert {k: derived[k] for k in ("court", "scheduled_for", "purpose")} == {
        k: catalogue[k] for k in ("court", "scheduled_for", "purpose")
    }


def test_a_field_s_catalogue_rules_still_refuse() -> None:
    with pytest.raises(ValidationError, match="court"):
        HearingRequest.model_validate({**HEARING, "court": "\x00"})


def test_the_body_keeps_its_name_docstring_and_own_rules() -> None:
    description = HearingRequest.model_json_schema()["description"]

    assert (HearingRequest.__name__, description) == ("HearingRequest", "A hearing to schedule.")
    with pytest.raises(ValidationError, match="no shouting"):
        HearingRequest.model_validate({**HEARING, "note": "LOUD"})


def test_the_catalogue_model_s_rules_and_their_schema_come_along() -> None:
    with pytest.raises(ValidationError, match="legal_basis is required"):
        ReferralRequest.model_validate({"to_agency": "A", "reason": "R", "consent": "legal_basis"})

    assert ReferralRequest.model_json_schema()["then"]["required"] == ["legal_basis"]


def test_an_optional_field_keeps_its_type_and_description() -> None:
    field = OrderRequest.model_json_schema()["properties"]["expires_at"]

    assert field["anyOf"] == [{"format": "date-time", "type": "string"}, {"type": "null"}]
    assert field["description"] == PreTrialDetentionOrdered.model_fields["expires_at"].description
    assert "expires_at" not in OrderRequest.model_json_schema()["required"]


def test_an_optional_field_left_out_is_none_and_a_given_one_is_still_checked() -> None:
    body = {"ordered_by": "Judge", "ordered_at": NOW.isoformat(), "legal_basis": "Art. 1"}

    assert OrderRequest.model_validate(body).expires_at is None
    with pytest.raises(ValidationError, match="expires_at"):
        OrderRequest.model_validate({**body, "expires_at": 1700000000})


def test_a_field_the_catalogue_does_not_have_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match="no field nope"):
        request_model(HearingScheduled, exclude={"nope"})


def test_the_catalogue_model_is_left_as_it_was() -> None:
    assert "hearing_id" in HearingScheduled.model_json_schema()["required"]


def test_a_void_request_needs_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason"):
        VoidRequest.model_validate({})
