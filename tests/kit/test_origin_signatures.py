"""An origin signature verified once is remembered only for those very bytes: the same event
arriving again (at another consumer of the process) passes, anything altered under a remembered
signature is checked afresh and refused, and a key retired since is refused all the same."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from shared.events import ArrestRecorded, build_envelope
from shared.kit.clock import Clock
from shared.kit.origins import OriginKeys, development_key
from tests.contract.samples import SAMPLES
from tests.support.bus import signed_document

INTAKE = development_key("intake")


def _document() -> dict[str, Any]:
    event = ArrestRecorded.model_validate(SAMPLES[ArrestRecorded.type_name()])
    env = build_envelope(
        event, event_id=uuid4(), subject=uuid4(), actor="tester", agency="test-agency",
        recorded_at=Clock().now(),
    )  # fmt: skip
    return signed_document(env)


def _keys(retired: frozenset[str] = frozenset()) -> OriginKeys:
    return OriginKeys({INTAKE.key_id: ("intake", INTAKE.private.public_key())}, retired)


def test_the_same_signed_event_passes_twice():
    document = _document()
    assert _keys().problem(document, "intake") is None
    assert _keys().problem(document, "intake") is None


def test_an_event_altered_under_a_remembered_signature_is_refused():
    document = _document()
    assert _keys().problem(document, "intake") is None
    altered = {**document, "agency": "another-agency"}
    assert _keys().problem(altered, "intake") == "the event's origin signature does not verify"
    data = dict(document["data"], grounds="something else")
    assert _keys().problem({**document, "data": data}, "intake") is not None


def test_a_remembered_signature_of_a_key_retired_since_is_refused():
    document = _document()
    assert _keys().problem(document, "intake") is None
    refused = _keys(retired=frozenset({INTAKE.key_id})).problem(document, "intake")
    assert refused == f"the event is signed by retired key {INTAKE.key_id!r}"


def test_a_remembered_signature_does_not_vouch_for_another_service():
    document = _document()
    assert _keys().problem(document, "intake") is None
    refused = _keys().problem(document, "judicial")
    assert refused is not None and "not of judicial" in refused
