"""Only what a service truly said is appended or reacted to: an event must be signed by a key of
the service owning its type and come on its type's subject of its case; anything else is
dead-lettered, counted and never recorded. A rotated key is trusted while it stays listed."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import verify_bundle
from services.judicial.application import JudicialApplication
from services.judicial.service import create_app as judicial_app
from services.ledger.service import create_app as ledger_app
from shared.events import ArrestRecorded, ReferralMade, ReleaseOrdered, build_envelope
from shared.kit.clock import Clock
from shared.kit.origins import ServiceKey, development_key, parse_public_keys, public_keys_json
from tests.contract.samples import SAMPLES
from tests.support import auth, eventually, running
from tests.support.bus import publish, read_subject, signed_document, subject
from tests.support.database import settings_with
from tests.support.ledger import appendable


def _event(cls: Any) -> Any:
    return cls.model_validate(SAMPLES[cls.type_name()])


def _document(event: Any, case_id: UUID) -> dict[str, Any]:
    env = build_envelope(
        event, event_id=uuid4(), subject=case_id, actor="tester", agency="test-agency",
        recorded_at=Clock().now(),
    )  # fmt: skip
    return signed_document(env)


def _bytes(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def _bad_signature(document: dict[str, Any]) -> dict[str, Any]:
    signature = bytearray(base64.b64decode(document["originsig"]))
    signature[0] ^= 1
    return {**document, "originsig": base64.b64encode(bytes(signature)).decode()}


def _signed_by(service: str, document: dict[str, Any]) -> dict[str, Any]:
    return development_key(service).sign(document)


def _forgeries(event: Any, case_id: UUID) -> list[tuple[str, bytes, dict[str, str]]]:
    """A forged, a tampered, a foreign-signed and an unsigned copy of `event`, each of its own."""
    topic = subject(event, case_id)
    elsewhere = subject(_event(ReferralMade), case_id)  # programmes may publish there
    documents = [_document(event, case_id) for _ in range(4)]
    unsigned = {k: v for k, v in documents[3].items() if not k.startswith("origin")}
    return [
        (elsewhere, _bytes(documents[0]), {}),
        (topic, _bytes(_bad_signature(documents[1])), {}),
        (topic, _bytes(_signed_by("programmes", documents[2])), {}),
        (topic, _bytes(unsigned), {}),
    ]


def _reasons(settings: Any, consumer: str, count: int) -> list[str]:
    dead = read_subject(settings, f"caseline.deadletter.{consumer}", expected=count)
    return [m.headers["Caseline-Deadletter-Reason"] for m in dead]


def _assert_refusals(reasons: list[str]) -> None:
    assert len(reasons) == 4, reasons
    assert "came on subject" in reasons[0]
    assert "does not verify" in reasons[1]
    assert "a key of programmes, not of" in reasons[2]
    assert "no origin signature" in reasons[3]


def test_the_ledger_appends_only_what_the_owner_of_a_type_signed(settings):
    case_id = uuid4()
    order = _event(ReleaseOrdered)
    genuine = _document(order, case_id)
    auditor = auth(settings, "auditor")

    with running(ledger_app(settings)) as ledger:
        eventually(lambda: ledger.get("/readyz").status_code == 200)
        publish(
            settings,
            [*_forgeries(order, case_id), (subject(order, case_id), _bytes(genuine), {})],
        )
        timeline = eventually(
            lambda: (
                (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
                and r.json()
            )
        )
        counted = 'caseline_origin_refused_total{consumer="ledger"} 4.0'
        eventually(lambda: counted in ledger.get("/metrics").text)

    reasons = _reasons(settings, "ledger", 4)
    assert [e["event"]["id"] for e in timeline["entries"]] == [genuine["id"]], timeline
    assert timeline["entries"][0]["event"]["originsig"] == genuine["originsig"]
    _assert_refusals(reasons)


def test_a_reacting_service_follows_only_what_the_owner_of_a_type_signed(settings):
    arrest = _event(ArrestRecorded)
    forged_cases = [uuid4() for _ in range(4)]
    genuine_case = uuid4()
    forgeries = [_forgeries(arrest, case)[i] for i, case in enumerate(forged_cases)]
    # Judicial follows intake's subjects only: the forged copy comes on one of them, for a case
    # it is not about (as another service's NATS user could not, but a replay could).
    forgeries[0] = (subject(arrest, uuid4()), *forgeries[0][1:])
    genuine = _document(arrest, genuine_case)

    with running(judicial_app(settings)) as judicial:
        eventually(lambda: judicial.get("/readyz").status_code == 200)
        publish(settings, [*forgeries, (subject(arrest, genuine_case), _bytes(genuine), {})])
        reasons = _reasons(settings, "judicial-intake-record", 4)
        eventually(
            lambda: (
                'processed_total{consumer="judicial-intake-record"} 1.0'
                in judicial.get("/metrics").text
            )
        )
        metrics = judicial.get("/metrics").text

    _assert_refusals(reasons)
    assert 'caseline_origin_refused_total{consumer="judicial-intake-record"} 4.0' in metrics
    app = JudicialApplication(settings)
    try:
        assert app.exists(genuine_case)
        assert not any(app.exists(case) for case in forged_cases)
    finally:
        app.close()


def _intake_signed_by(key: ServiceKey, case_id: UUID, n: int) -> tuple[str, bytes, dict[str, str]]:
    """The `n`-th intake event of a case as intake publishes it, signed by `key`."""
    item = appendable(case_id, n)
    unsigned = {k: v for k, v in item.envelope.items() if not k.startswith("origin")}
    name = item.type.split(".")[2]
    return f"caseline.intake.{name}.{case_id}", _bytes(key.sign(unsigned)), {}


def test_a_rotated_service_key_is_accepted_until_retired_and_its_history_verifies_after(
    settings,
):
    old, new = (ServiceKey("intake", Ed25519PrivateKey.generate()) for _ in range(2))
    rotating = settings_with(settings, service_public_keys=public_keys_json([old, new]))
    listed = json.loads(public_keys_json([old, new]))
    listed[old.key_id]["retired"] = True
    rotated = settings_with(settings, service_public_keys=json.dumps(listed))
    case_id = uuid4()
    auditor = auth(settings, "auditor")

    def entries(ledger: Any, count: int) -> Any:
        return eventually(
            lambda: (
                (r := ledger.get(f"/cases/{case_id}/timeline", headers=auditor)).status_code == 200
                and len(r.json()["entries"]) == count
            )
        )

    with running(ledger_app(rotating)) as ledger:
        eventually(lambda: ledger.get("/readyz").status_code == 200)
        publish(rotating, [_intake_signed_by(old, case_id, 0), _intake_signed_by(new, case_id, 1)])
        entries(ledger, 2)
        during = ledger.get(f"/cases/{case_id}/export", headers=auditor).content
    with running(ledger_app(rotated)) as ledger:
        eventually(lambda: ledger.get("/readyz").status_code == 200)
        publish(rotated, [_intake_signed_by(old, case_id, 2), _intake_signed_by(new, case_id, 3)])
        entries(ledger, 3)
        timeline = ledger.get(f"/cases/{case_id}/timeline", headers=auditor).json()
        after = ledger.get(f"/cases/{case_id}/export", headers=auditor).content
    reasons = _reasons(settings, "ledger", 1)

    report = verify_bundle(during)
    pinned = verify_bundle(during, service_keys=parse_public_keys(json.dumps(listed)))
    # Keys that came with no bundle: a bundle bringing keys of its own is refused.
    elsewhere = verify_bundle(during, service_keys=parse_public_keys(public_keys_json([new])))
    assert report.ok, report.lines()
    assert report.events == 2
    assert "not checked against keys you trust" in "\n".join(report.lines())
    assert pinned.ok, pinned.lines()
    assert "signed by:   services' keys you trust" in "\n".join(pinned.lines())
    assert not elsewhere.ok
    assert f"service key {old.key_id} (intake), which is not among" in str(elsewhere.reason)
    # A retired key signs nothing new, and still vouches for what it signed before.
    later = verify_bundle(after)
    assert later.ok, later.lines()
    assert later.events == 3
    assert sorted(json.loads(during)["service_keys"]) == sorted([old.key_id, new.key_id])
    assert [e["event"]["originkeyid"] for e in timeline["entries"]] == [
        old.key_id, new.key_id, new.key_id,
    ]  # fmt: skip
    assert reasons == [f"the event is signed by retired key {old.key_id!r}"]
