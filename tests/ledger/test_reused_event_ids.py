"""An event id is unique forever (SPEC §3): another envelope arriving under an id the ledger holds
is refused as a dead letter, and nothing of it applies (not its access facts either); the same
envelope delivered again is a silent duplicate."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.ledger.application import LedgerApplication
from shared.kit.origins import ServiceKey, public_keys_json
from shared.kit.subscriber import ACK, Dead, Delivery
from tests.support.bus import envelope_bytes, envelope_of, subject
from tests.support.database import settings_with
from tests.support.ledger import evidence, ledger_intake, principals


@pytest.fixture
def ledger(settings) -> Iterator[LedgerApplication]:
    app = LedgerApplication(settings)
    yield app
    app.close()


def _delivery(item: str, case_id: UUID, **kw: Any) -> tuple[str, Delivery]:
    event = evidence(item)
    event_id, body = envelope_bytes(event, case_id, **kw)
    return event_id, Delivery(subject(event, case_id), body, {"Nats-Msg-Id": event_id}, msg=None)


def test_another_envelope_under_a_recorded_id_is_dead_lettered_and_links_no_one(ledger, caplog):
    intake = ledger_intake(ledger)
    case_x, case_y = uuid4(), uuid4()
    first_id, first = _delivery("E-1", case_x, agency="police-a")
    _, other = _delivery("Y-1", case_y, agency="police-a")
    assert intake([first, other]) == [ACK, ACK]
    _, reused = _delivery("Z", case_y, agency="police-b", event_id=UUID(first_id))

    with caplog.at_level(logging.ERROR, logger="caseline.ledger"):
        outcomes = intake([reused])

    assert isinstance(outcomes[0], Dead)
    assert first_id in outcomes[0].reason and "another envelope" in outcomes[0].reason
    assert ledger.store.size() == 2
    assert principals(ledger, case_y) == ["agency:police-a"]
    assert any(r.levelno == logging.ERROR and first_id in r.getMessage() for r in caplog.records)


def test_the_same_envelope_delivered_again_is_a_silent_duplicate(ledger):
    intake = ledger_intake(ledger)
    case_id = uuid4()
    _, first = _delivery("E-1", case_id, agency="police-a")
    assert intake([first]) == [ACK]

    again = intake([first, first])

    assert again == [ACK, ACK]
    assert ledger.store.size() == 1
    assert principals(ledger, case_id) == ["agency:police-a"]


def test_a_batch_carrying_two_envelopes_under_one_id_appends_the_first_and_refuses_the_other(
    ledger,
):
    intake = ledger_intake(ledger)
    case_x, case_y = uuid4(), uuid4()
    first_id, first = _delivery("E-1", case_x, agency="police-a")
    _, reused = _delivery("Z", case_y, agency="police-b", event_id=UUID(first_id))

    outcomes = intake([first, reused])

    assert outcomes[0] == ACK
    assert isinstance(outcomes[1], Dead) and "another envelope" in outcomes[1].reason
    assert ledger.store.size() == 1
    assert principals(ledger, case_x) == ["agency:police-a"]
    assert principals(ledger, case_y) == []


def test_the_same_event_signed_again_by_a_new_key_of_its_service_is_a_silent_duplicate(settings):
    old, new = (ServiceKey("intake", Ed25519PrivateKey.generate()) for _ in range(2))
    rotating = settings_with(settings, service_public_keys=public_keys_json([old, new]))
    ledger = LedgerApplication(rotating)
    try:
        intake = ledger_intake(ledger)
        case_id = uuid4()
        event = evidence("E-1")
        unsigned = json.loads(envelope_of(event, case_id, agency="police-a").to_json_bytes())
        on = subject(event, case_id)
        first, again = (
            Delivery(on, json.dumps(key.sign(unsigned)).encode(), {}, msg=None)
            for key in (old, new)
        )
        assert intake([first]) == [ACK]

        outcomes = intake([again])

        assert outcomes == [ACK]
        assert ledger.store.size() == 1
    finally:
        ledger.close()
