"""A message crafted to break the checks themselves (nested a thousand levels deep, or too large)
is refused alone, as a dead letter with its reason: the ledger and every service's consumers go on
to the messages behind it instead of retrying the same batch forever."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import pytest

from services.judicial.application import JudicialApplication
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from shared.events import (
    DetaineeAdmitted,
    EnvelopeError,
    InstrumentPublished,
    load_envelope,
    validate_envelope,
)
from shared.events.personal import seal
from shared.kit.keystore import CaseKeyCipher
from shared.kit.memory import MemoryKeyStore
from shared.kit.origins import development_key, origin_keys
from shared.kit.runtime import access_reactions
from shared.kit.settings import Settings
from shared.kit.subscriber import ACK, Dead, Delivery, check_envelope
from tests.contract.samples import SAMPLES
from tests.support import auth, eventually, running
from tests.support.bus import envelope_of, publish, read_subject, signed, signed_document, subject
from tests.support.ledger import evidence, ledger_intake

GARBAGE_SIGNATURE = "A" * 86 + "=="


def _nested(depth: int) -> str:
    return '{"a":' * depth + '"x"' + "}" * depth


def _poison(depth: int, case_id: Any) -> bytes:
    """A valid payload with the owner's key id and a well-formed (garbage) signature, carrying a
    `personaldata` nested `depth` levels deep: only canonicalising it would tell it is forged."""
    document = json.loads(envelope_of(evidence("P"), case_id, agency="police-a").to_json_bytes())
    document["originkeyid"] = development_key("intake").key_id
    document["originsig"] = GARBAGE_SIGNATURE
    return (json.dumps(document)[:-1] + ',"personaldata":' + _nested(depth) + "}").encode()


def _deep_document(depth: int) -> dict[str, Any]:
    """A signed-looking envelope, built in memory, nested deeper than any JSON text would parse."""
    document = signed_document(envelope_of(evidence("P"), uuid4(), agency="police-a"))
    node: dict[str, Any] = {}
    document["personaldata"] = node
    for _ in range(depth):
        node["a"] = node = {}
    return document


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _too_deep(reason: str) -> bool:
    # The decoder itself gives up on the deepest, before the bound is measured.
    return "nested deeper than" in reason or "recursion depth exceeded" in reason


def _on_a_worker(work: Any, *args: Any) -> Any:
    """`work(*args)` on a fresh thread, as a consumer's batch runs (`asyncio.to_thread`)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work, *args).result()


def _keys() -> Any:
    return origin_keys(Settings(environment="test"))


POISON_DEPTHS = range(900, 1001, 4)
"""Deep enough to parse yet too deep to canonicalise, whatever the stack in between."""


# --- loading ---------------------------------------------------------------------------------


def test_an_envelope_nested_deeper_than_the_bound_is_refused_when_loaded():
    from shared.events.envelope import ENVELOPE_MAX_DEPTH

    deepest = f'{{"data":{_nested(ENVELOPE_MAX_DEPTH - 1)}}}'.encode()
    too_deep = f'{{"data":{_nested(ENVELOPE_MAX_DEPTH)}}}'.encode()

    assert load_envelope(deepest)
    with pytest.raises(EnvelopeError, match=f"nested deeper than {ENVELOPE_MAX_DEPTH}"):
        load_envelope(too_deep)


def test_an_envelope_larger_than_the_bus_carries_is_refused_when_loaded():
    from shared.events.envelope import ENVELOPE_MAX_BYTES

    padding = "x" * ENVELOPE_MAX_BYTES

    with pytest.raises(EnvelopeError, match="larger than"):
        load_envelope(json.dumps({"data": {"note": padding}}).encode())


def test_the_deepest_envelope_of_the_catalogue_loads_well_within_the_bound():
    from shared.events.envelope import ENVELOPE_MAX_DEPTH

    # An instrument's labelled scale is the catalogue's deepest payload: envelope, data, domains,
    # a domain, indicators, an indicator, scale, labels, a label.
    instrument = InstrumentPublished.model_validate(SAMPLES[InstrumentPublished.type_name()])
    raw = signed(envelope_of(instrument, instrument.instrument_id))

    envelope, _ = validate_envelope(load_envelope(raw))

    assert envelope.type == InstrumentPublished.type_name()
    assert _depth(json.loads(raw)) == 9
    assert ENVELOPE_MAX_DEPTH >= 3 * 9  # a margin for a v2, and for the ledger's entry around it


def test_personaldata_must_be_the_sealed_ciphertext_structure():
    case_id = str(uuid4())
    event_id = uuid4()
    admitted = DetaineeAdmitted(
        facility="MCA Bamako",
        admitted_at="2026-11-03T10:00:00Z",
        warrant_ref="MD-1",
        health_screening="Asthma",
    )
    sealed = seal(admitted, case_id, str(event_id), CaseKeyCipher(MemoryKeyStore()))
    genuine = envelope_of(
        sealed.data, case_id, event_id=event_id, personaldata=sealed.personaldata
    ).to_json_bytes()
    shaped = json.loads(genuine)
    other = {**shaped, "personaldata": {**shaped["personaldata"], "note": {"a": {"a": "x"}}}}

    assert validate_envelope(load_envelope(genuine))[0].personaldata == sealed.personaldata
    with pytest.raises(EnvelopeError, match="personaldata"):
        validate_envelope(other)
    with pytest.raises(EnvelopeError, match="personaldata"):
        validate_envelope({**shaped, "personaldata": {"a": {"a": "x"}}})


# --- checking ----------------------------------------------------------------------------------


def test_a_signature_that_cannot_be_checked_is_one_refusal_among_a_batch():
    keys = _keys()
    genuine = [signed_document(envelope_of(evidence(f"G{n}"), uuid4())) for n in range(40)]
    poison = _deep_document(5000)
    poison["originsig"] = GARBAGE_SIGNATURE

    alone = keys.problems([(poison, "intake"), (genuine[0], "intake")])
    among_many = keys.problems([(d, "intake") for d in [*genuine[:20], poison, *genuine[20:]]])

    assert alone[1] is None and "canonical" in str(alone[0])
    assert among_many[20] is not None and "canonical" in among_many[20]
    assert [p for i, p in enumerate(among_many) if i != 20] == [None] * 40
    assert "canonical" in str(keys.problem(poison, "intake"))


def test_whatever_checking_one_message_raises_makes_it_a_dead_letter(monkeypatch):
    import shared.kit.subscriber as subscriber

    def breaks(*_: Any) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(subscriber, "origin_problem", breaks)
    event = evidence("E")
    case_id = uuid4()
    delivery = Delivery(subject(event, case_id), signed(envelope_of(event, case_id)), {}, msg=None)

    checked = check_envelope(delivery, "", _keys())

    assert isinstance(checked, Dead)
    assert "RecursionError" in checked.reason


# --- consumers ---------------------------------------------------------------------------------


def test_the_ledger_dead_letters_poison_and_appends_the_genuine_event_behind_it(settings):
    ledger = LedgerApplication(settings)
    try:
        intake = ledger_intake(ledger)
        case_id = uuid4()
        event = evidence("G")
        poison = [Delivery(subject(event, case_id), _poison(d, case_id), {}, msg=None)
                  for d in POISON_DEPTHS]  # fmt: skip
        genuine = Delivery(subject(event, case_id), signed(envelope_of(event, case_id)), {}, None)

        outcomes = _on_a_worker(intake, [*poison, genuine])

        assert outcomes[-1] == ACK
        assert all(isinstance(o, Dead) and _too_deep(o.reason) for o in outcomes[:-1])
        assert ledger.store.size() == 1
    finally:
        ledger.close()


def test_the_ledger_consumer_goes_past_a_poison_message_on_the_bus(settings):
    case_id = uuid4()
    event = evidence("G")
    good = signed_document(envelope_of(event, case_id, agency="police-a"))
    poison = [(subject(event, case_id), _poison(d, case_id), {}) for d in POISON_DEPTHS]
    auditor = auth(settings, "auditor")

    with running(ledger_app(settings)) as ledger:
        eventually(lambda: ledger.get("/readyz").status_code == 200)
        publish(settings, [*poison, (subject(event, case_id), json.dumps(good).encode(), {})])
        timeline = eventually(
            lambda: (
                (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
                and r.json()
            )
        )
    dead = read_subject(settings, "caseline.deadletter.ledger", expected=len(POISON_DEPTHS))

    assert [e["event"]["id"] for e in timeline["entries"]] == [good["id"]]
    assert len(dead) == len(POISON_DEPTHS)
    assert all(_too_deep(m.headers["Caseline-Deadletter-Reason"]) for m in dead)


def test_a_services_access_facts_dead_letter_poison_and_note_the_genuine_event(settings):
    judicial = JudicialApplication(settings)
    try:
        facts = access_reactions(judicial, "judicial")
        prefix = settings.subject_prefix
        case_id = uuid4()
        event = evidence("G")
        poison = [Delivery(prefix + subject(event, case_id), _poison(d, case_id), {}, msg=None)
                  for d in POISON_DEPTHS]  # fmt: skip
        env = envelope_of(event, case_id, agency="police-a")
        genuine = Delivery(prefix + subject(event, case_id), signed(env), {}, msg=None)

        outcomes = _on_a_worker(facts, [*poison, genuine])

        assert outcomes[-1] == ACK
        assert all(isinstance(o, Dead) for o in outcomes[:-1])
        rows = judicial.fetch(
            "SELECT principal FROM {schema}.case_access WHERE case_id = %s", (str(case_id),)
        )
        assert rows == [("agency:police-a",)]
    finally:
        judicial.shutdown()
