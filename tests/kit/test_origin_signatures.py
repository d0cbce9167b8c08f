"""An origin signature verified once is remembered only for those very bytes: the same event
arriving again (at another consumer of the process) passes, anything altered under a remembered
signature is checked afresh and refused, and a key retired since is refused all the same."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.events import ArrestRecorded, build_envelope
from shared.kit.clock import Clock
from shared.kit.origins import (
    PARALLEL_FROM,
    OriginKeys,
    ServiceKey,
    development_key,
    origin_keys,
    public_keys_json,
)
from shared.kit.settings import Settings
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


def test_a_batch_checked_on_every_core_gets_each_documents_own_answer():
    documents = [_document() for _ in range(PARALLEL_FROM + 8)]
    arrivals = [(d, "intake") for d in documents]
    for i in range(0, len(arrivals), 7):  # altered under its signature
        arrivals[i] = ({**documents[i], "agency": "another-agency"}, "intake")
    for i in range(3, len(arrivals), 11):  # claimed for a service that did not sign it
        arrivals[i] = (documents[i], "judicial")
    unsigned = {k: v for k, v in documents[5].items() if k != "originsig"}
    arrivals[5] = (unsigned, "intake")

    batch = _keys().problems(arrivals)

    assert batch == [_keys().problem(document, service) for document, service in arrivals]
    assert batch.count(None) == len(arrivals) - 10  # 5 altered, 4 claimed by judicial, 1 bare
    assert batch[0] == "the event's origin signature does not verify"
    assert batch[5] == "the event carries no origin signature"


def test_production_refuses_a_development_key_among_the_trusted_ones():
    # Their private halves are in the source: anyone can sign as a service with them.
    genuine = ServiceKey("intake", Ed25519PrivateKey.generate())
    trusted = public_keys_json([genuine])
    with_development = public_keys_json([genuine, development_key("judicial")])

    def production(public_keys: str) -> Settings:
        # Only what the keys read: a whole production configuration needs every secret.
        return Settings.model_construct(environment="production", service_public_keys=public_keys)

    keys = origin_keys(production(trusted))
    with pytest.raises(RuntimeError, match="development key"):
        origin_keys(production(with_development))

    assert set(keys.keys) == {genuine.key_id}
