"""Evidence bundles: exported over HTTP, copied elsewhere, verified offline, server stopped."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from caseline.bundle import verify_bundle
from caseline.cli import main
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from shared.events.intake import DetaineeAdmitted
from shared.events.registry import SERVICES
from shared.kit.access_facts import access_ops
from shared.kit.origins import ServiceKey, development_key, public_keys_json
from tests.ledger.helpers import fill
from tests.support import auth, running
from tests.support.ledger import appendable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exported(settings, tmp_path) -> tuple[Path, str]:
    """A case's bundle downloaded from the ledger's route; the server is stopped on return."""
    ledger = LedgerApplication(settings)
    case_id = str(fill(ledger, cases=3, per_case=4)[2])
    ledger.close()
    with running(ledger_app(settings)) as client:
        response = client.get(f"/cases/{case_id}/export", headers=auth(settings, "auditor"))
    assert response.status_code == 200, response.text
    assert "attachment" in response.headers["content-disposition"]
    path = tmp_path / "exported" / "bundle.json"
    path.parent.mkdir()
    path.write_bytes(response.content)
    return path, case_id


def test_a_bundle_copied_elsewhere_verifies_offline_with_the_cli(exported, tmp_path):
    path, case_id = exported
    copy = tmp_path / "field-office" / "evidence.json"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}

    done = subprocess.run(
        [sys.executable, "-m", "caseline", "verify-bundle", str(copy)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Evidence bundle of case {case_id}" in done.stdout
    assert "events:      4 (2026-11-03T10:00:00Z … 2026-11-06T10:00:00Z)" in done.stdout
    assert "checkpoint:  12 ledger entries" in done.stdout
    assert "result:      OK" in done.stdout


def _verify_bundle_cli(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASELINE_", "LC_", "LANG"))}
    return subprocess.run(
        [sys.executable, "-m", "caseline", "verify-bundle", str(path), *flags],
        capture_output=True, text=True, env=env, cwd=path.parent, timeout=60,
    )  # fmt: skip


def test_the_report_reads_in_arabic_and_french(exported):
    path, case_id = exported

    arabic = _verify_bundle_cli(path, "--lang", "ar")
    french = _verify_bundle_cli(path, "--lang=fr")

    assert arabic.returncode == french.returncode == 0, arabic.stderr + french.stderr
    lines = arabic.stdout.splitlines()
    assert lines[0] == f"حزمة أدلة القضية {case_id}"
    assert "الأحداث:" in lines[1] and "4 (2026-11-03T10:00:00Z … 2026-11-06T10:00:00Z)" in lines[1]
    assert "12 قيدًا في السجل" in lines[2]
    assert lines[-1].split(None, 1) == [
        "النتيجة:",
        "سليم — أصلي وكامل ومرتب وموجود في الشجرة الموقَّعة",
    ]
    assert not any(word in arabic.stdout for word in ("events", "checkpoint", "result", "OK"))
    assert french.stdout.splitlines()[0] == f"Dossier de preuves de l'affaire {case_id}"
    assert "résultat :" in french.stdout and "OK — authentique, complet, en ordre" in french.stdout


def test_the_services_keys_an_auditor_trusts_are_the_ones_checked(exported, tmp_path):
    path, _ = exported
    ours = tmp_path / "service-keys.json"
    ours.write_text(public_keys_json([development_key(s) for s in SERVICES]))
    strangers = tmp_path / "other-keys.json"
    strangers.write_text(public_keys_json([ServiceKey("intake", Ed25519PrivateKey.generate())]))

    trusted = _verify_bundle_cli(path, "--service-keys", str(ours), "--lang", "fr")
    refused = _verify_bundle_cli(path, "--service-keys", str(strangers))
    carried = _verify_bundle_cli(path)

    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    assert "signé par :" in trusted.stdout
    assert "clés des services auxquelles vous faites confiance" in trusted.stdout
    assert refused.returncode == 1
    assert "which is not among the service keys you trust" in refused.stdout
    assert "not checked against keys you trust" in carried.stdout


def test_a_failure_is_told_in_the_language_asked_with_its_figures(exported):
    path, _ = exported
    bundle = json.loads(path.read_bytes())
    bundle["entries"] = bundle["entries"][
        :-1
    ]  # the case's last entry cut off, rewritten as exported
    cut = path.with_name("cut.json")
    cut.write_text(
        json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n"
    )

    arabic = _verify_bundle_cli(cut, "--lang", "ar")
    french = _verify_bundle_cli(cut, "--lang", "fr")
    english = _verify_bundle_cli(cut)

    assert arabic.returncode == french.returncode == english.returncode == 1
    assert "result:      FAILED at entry 4 of the case: entries 4 to 4 of the case are missing" in (
        english.stdout
    )
    assert "فشل عند القيد 4 من القضية: القيود من 4 إلى 4 من القضية ناقصة من الحزمة" in arabic.stdout
    assert (
        "ÉCHEC à l'inscription 4 du dossier : les inscriptions 4 à 4 du dossier manquent au dossier"
        " de preuves" in french.stdout
    )


def test_one_byte_changed_anywhere_fails(exported):
    path, _ = exported
    raw = path.read_bytes()

    failures = []
    for position in range(0, len(raw), max(1, len(raw) // 60)):
        changed = bytearray(raw)
        changed[position] = ord("A") if raw[position] != ord("A") else ord("B")
        failures.append(verify_bundle(bytes(changed)).ok)

    assert verify_bundle(raw).ok
    assert not any(failures)


def test_changes_that_decode_to_the_same_bytes_fail_too(exported):
    raw = exported[0].read_bytes()
    signature = raw.index(b'"signature":"') + len(b'"signature":"')
    padded = raw.index(b"==", signature) - 1
    unused_bits = bytearray(raw)
    # The last base64 digit before "==" carries 4 unused bits: flip one of them.
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    unused_bits[padded] = alphabet[alphabet.index(raw[padded]) ^ 1]
    upper = bytearray(raw)
    prev = raw.index(b'"prev_hash":"', raw.index(b'"case_seq":2,')) + len(b'"prev_hash":"')
    letter = next(i for i in range(prev, prev + 64) if chr(raw[i]) in "abcdef")
    upper[letter] = ord(chr(raw[letter]).upper())

    assert not verify_bundle(bytes(unused_bits)).ok
    assert not verify_bundle(bytes(upper)).ok


def test_a_changed_entry_is_named_by_the_verifier(exported, capsys):
    path, _ = exported
    raw = path.read_bytes()
    # Keys are sorted: an entry's "canonical" comes just before its "case_seq".
    start = raw.rindex(b'"canonical":"', 0, raw.index(b'"case_seq":3,')) + len(b'"canonical":"')
    marker = start + 40
    changed = bytearray(raw)
    changed[marker] = ord("x") if raw[marker] != ord("x") else ord("y")
    path.write_bytes(bytes(changed))

    with pytest.raises(SystemExit) as exit_:
        main(["verify-bundle", str(path)])

    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "FAILED at entry 3 of the case (ledger entry 9)" in out


def _admitted(ledger: LedgerApplication) -> str:
    """A case whose one entry is an admission at MCA Bamako, appended as the bus would have it:
    with the access fact it brings (the prison holds the person)."""
    admission = appendable(uuid4(), 0)
    data = DetaineeAdmitted.model_validate(admission.envelope["data"])
    ops = access_ops(admission.type, admission.case_id, admission.event_id, "test", data)
    ledger.store.append([admission], also=lambda conn: ledger.note_access(ops, conn))
    return admission.case_id


def test_only_roles_that_see_a_whole_case_may_export_it(settings):
    ledger = LedgerApplication(settings)
    case_id = _admitted(ledger)
    ledger.close()

    # The prison that holds the person sees the case, but not the whole of it; the police of an
    # agency that recorded nothing of it do not see it at all.
    prison = auth(settings, "prison_director", facility="MCA Bamako")
    with running(ledger_app(settings)) as client:
        held = client.get(f"/cases/{case_id}/export", headers=prison)
        police = client.get(f"/cases/{case_id}/export", headers=auth(settings, "police"))
        unknown = client.get(f"/cases/{uuid4()}/export", headers=auth(settings, "auditor"))
        judge = client.get(f"/cases/{case_id}/export", headers=auth(settings, "judge"))

    statuses = (held.status_code, police.status_code, unknown.status_code, judge.status_code)
    assert statuses == (403, 404, 404, 200)


def _export(settings, case_id: UUID) -> bytes:  # type: ignore[no-untyped-def]
    with running(ledger_app(settings)) as client:
        response = client.get(f"/cases/{case_id}/export", headers=auth(settings, "auditor"))
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    ("forge", "reason"),
    [
        (
            lambda doc: {**doc, "originsig": base64.b64encode(bytes(64)).decode()},
            "origin signature does not verify",
        ),
        (lambda doc: development_key("programmes").sign(doc), "not signed by a key of intake"),
        (lambda doc: {k: v for k, v in doc.items() if k != "originsig"}, "no origin signature"),
    ],
    ids=["tampered-signature", "another-service-key", "unsigned"],
)
def test_an_entry_without_its_owners_signature_fails_the_bundle_at_that_entry(
    settings, capsys, forge, reason
):  # type: ignore[no-untyped-def]
    """An entry the ledger was made to hold (and sign into a checkpoint) that its service never
    signed: the bundle verifies byte for byte and proof for proof, and still fails there."""
    ledger = LedgerApplication(settings)
    case_id = uuid4()
    entries = [appendable(case_id, n) for n in range(3)]
    entries[1] = dataclasses.replace(entries[1], envelope=forge(entries[1].envelope))
    ledger.store.append(entries)
    ledger.close()

    report = verify_bundle(_export(settings, case_id))

    assert not report.ok
    assert report.first_bad_seq == 2, report.lines()
    assert reason in (report.reason or ""), report.reason


def test_the_bundle_carries_the_service_keys(exported):
    bundle = json.loads(exported[0].read_bytes())
    intake = development_key("intake")
    assert bundle["service_keys"][intake.key_id] == {
        "service": "intake",
        "public_key": base64.b64encode(intake.public_raw).decode(),
    }
