"""`caseline timeline CASE_ID` against a ledger served over HTTP: entries in order, voids linked,
the verdict, and a non-zero exit when the chain does not verify."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from caseline.cli import main
from services.ledger.application import LedgerApplication
from services.ledger.service import create_app as ledger_app
from services.ledger.store import Appendable
from shared.events import build_envelope
from shared.events.voiding import IntakeEntryVoided
from tests.ledger.helpers import tampering
from tests.support import serving, token_for
from tests.support.bus import signed_document
from tests.support.ledger import BASE_TIME, appendable


def _voiding(case_id: UUID, voided: Appendable) -> Appendable:
    """Intake voids `voided`, a mistaken entry of the case."""
    event = IntakeEntryVoided.model_validate(
        {"voided_event_id": voided.event_id, "reason": "recorded on the wrong case"}
    )
    env = build_envelope(
        event, event_id=uuid4(), subject=case_id, actor="clerk-2", agency="intake-bamako",
        recorded_at=BASE_TIME,
    )  # fmt: skip
    return Appendable(
        str(env.id), str(case_id), env.type, BASE_TIME, BASE_TIME, signed_document(env)
    )


@pytest.fixture
def served(settings) -> Iterator[tuple[str, str, list[Appendable]]]:
    """A case of three entries and a void of its second, in a ledger served on a local port."""
    case_id = uuid4()
    items = [appendable(case_id, n) for n in range(3)]
    items.append(_voiding(case_id, items[1]))
    ledger = LedgerApplication(settings)
    ledger.store.append(items)
    ledger.checkpointer.checkpoint_now()
    ledger.close()
    with serving(ledger_app(settings)) as url:
        yield url, str(case_id), items


def _timeline(capsys, *argv: str) -> tuple[int, list[str], str]:
    with pytest.raises(SystemExit) as exit_:
        main(["timeline", *argv])
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out.splitlines(), out.err


def test_the_timeline_prints_each_entry_in_ledger_order_with_its_voids_and_the_verdict(
    settings, served, capsys
):
    url, case_id, _ = served

    code, lines, _ = _timeline(
        capsys, case_id, "--ledger", url, "--token", token_for(settings, "auditor")
    )

    assert code == 0, lines
    assert lines[0] == f"Timeline of case {case_id}: 4 entries"
    rows = [line.split() for line in lines[2:6]]
    assert [r[0] for r in rows] == ["1", "2", "3", "4"]
    assert [r[1] for r in rows] == [
        "2026-11-03T10:00:00Z", "2026-11-04T10:00:00Z", "2026-11-05T10:00:00Z",
        "2026-11-03T10:00:00Z",
    ]  # fmt: skip
    assert [r[2:4] for r in rows] == [
        ["intake", "DetaineeAdmitted"], ["intake", "FamilyContactRecorded"],
        ["intake", "FamilyContactRecorded"], ["intake", "EntryVoided"],
    ]  # fmt: skip
    assert rows[0][4:6] == ["tester", "(test)"]
    assert lines[3].endswith("[VOIDED by #4]")
    assert lines[5].endswith("clerk-2 (intake-bamako)  [voids #2]")
    assert lines[6].startswith("verified: OK (4 entries in the ledger, chain head ")


def test_the_timeline_speaks_french_with_lang_fr(settings, served, capsys):
    url, case_id, _ = served

    code, lines, _ = _timeline(
        capsys, case_id, "--ledger", url, "--token", token_for(settings, "auditor"), "--lang", "fr"
    )

    assert code == 0, lines
    assert lines[0] == f"Chronologie du dossier {case_id} : 4 inscriptions"
    assert "enregistré par" in lines[1]
    assert lines[3].endswith("[ANNULÉ par n° 4]")
    assert lines[5].endswith("[annule n° 2]")
    assert lines[6].startswith("vérifié : OK (4 inscriptions dans le registre, tête de chaîne ")


def test_the_ledgers_refusal_reaches_the_cli_in_its_language(settings, served, capsys):
    url, _, _ = served
    unknown = "00000000-0000-4000-8000-000000000000"

    code, lines, _ = _timeline(
        capsys, unknown, "--ledger", url, "--token", token_for(settings, "auditor"), "--lang", "ar"
    )

    assert code == 1
    assert lines[0].startswith("رفض السجل /cases/"), lines
    assert f"لا توجد قضية {unknown} في السجل" in lines[0], lines


def test_a_chain_that_does_not_verify_exits_non_zero_naming_the_first_bad_entry(
    settings, served, capsys
):
    url, case_id, items = served
    with tampering(settings, "entries") as conn:
        conn.execute(
            "UPDATE ledger.entries SET canonical = convert_to(replace(convert_from(canonical,"
            " 'UTF8'), 'Visitor 2', 'Visitor X'), 'UTF8') WHERE event_id = %s",
            (items[2].event_id,),
        )

    code, lines, _ = _timeline(
        capsys, case_id, "--ledger", url, "--token", token_for(settings, "auditor")
    )

    assert code == 1
    assert lines[-1] == "verified: FAILED at entry 3: the entry's bytes do not match its hash"


def test_without_a_token_or_for_an_unknown_case_it_says_why_and_exits_non_zero(
    settings, served, capsys, monkeypatch
):
    url, _, _ = served
    monkeypatch.delenv("CASELINE_TOKEN", raising=False)

    no_token = _timeline(capsys, str(uuid4()), "--ledger", url)
    unknown = _timeline(
        capsys, str(uuid4()), "--ledger", url, "--token", token_for(settings, "auditor")
    )
    bad_token = _timeline(capsys, str(uuid4()), "--ledger", url, "--token", "not-a-token")

    assert no_token[0] == unknown[0] == bad_token[0] == 1
    assert "a bearer token is needed" in no_token[2]
    assert "(404)" in unknown[1][-1]
    assert "(401)" in bad_token[1][-1]
