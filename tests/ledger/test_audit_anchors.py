"""The services' read audits anchored in the ledger: a rewrite by whoever owns a service's
database shows in the next anchoring round and in `caseline verify --all`, which names the first
rewritten entry (or, for a rewrite whose chain was recomputed, where it lies)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from caseline.cli import main
from services.intake.service import create_app as intake_app
from services.ledger.anchors import Anchor, AnchorStore, anchorer_for
from services.ledger.service import create_app as ledger_app
from services.ledger.store import LedgerStore
from shared.kit.audit import COLUMNS, entry_hash
from shared.kit.settings import Settings
from tests.support import auth, eventually, running, serving

PURPOSE = {"Caseline-Purpose": "anchoring tests"}


@dataclass
class Intake:
    settings: Settings
    url: str

    def read(self, sub: str = "reader") -> None:
        headers = {**auth(self.settings, "judge", sub=sub), **PURPOSE}
        assert httpx.get(f"{self.url}/cases", headers=headers, timeout=30).status_code == 200

    def anchor(self) -> dict[str, str]:
        """One anchoring round by the ledger, over HTTP, as a running ledger does it."""
        with _ledger_store(self.settings) as store:
            return asyncio.run(anchorer_for(self.settings, store, None).round())


@pytest.fixture
def intake(settings_factory) -> Iterator[Intake]:
    """Intake served over HTTP, and the ledger's tables, the ledger knowing intake's URL."""
    settings = settings_factory(audit_anchor_seconds=0)
    with serving(intake_app(settings)) as url:
        settings = settings.model_copy(update={"service_urls": f"intake={url}"})
        with _ledger_store(settings) as store:
            store.create()
        yield Intake(settings, url)


@contextmanager
def _ledger_store(settings: Settings) -> Iterator[LedgerStore]:
    store = LedgerStore(settings)
    try:
        yield store
    finally:
        store.close()


def _anchors(settings: Settings) -> list[Anchor]:
    with _ledger_store(settings) as store:
        return AnchorStore(store).all()


def _three_anchored_reads(intake: Intake) -> None:
    """Reads 1, 3 and 5 of intake's log, each anchored (2, 4 and 6 are the anchoring's own)."""
    for _ in range(3):
        intake.read()
        assert intake.anchor()["intake"] == "anchored"


def _verify_all(settings: Settings, capsys, *flags: str) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CASELINE_DATABASE_URL", settings.database_url or "")
        env.setenv("CASELINE_ENVIRONMENT", "test")
        with pytest.raises(SystemExit) as exit_:
            main(["verify", "--all", *flags])
    return int(exit_.value.code or 0), capsys.readouterr().out


def _owner(settings: Settings) -> psycopg.Connection:
    conn = psycopg.connect(settings.database.conninfo(), autocommit=True)
    conn.execute("ALTER TABLE intake.read_audit DISABLE TRIGGER USER")
    return conn


def _rewrite(settings: Settings, seq: int, *, recompute: bool) -> None:
    """As the owner of intake's database: change entry `seq`'s reader and, with `recompute`,
    every later hash so that the chain itself still verifies."""
    with _owner(settings) as conn:
        conn.execute("UPDATE intake.read_audit SET actor = 'nobody' WHERE seq = %s", (seq,))
        if not recompute:
            return
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM intake.read_audit WHERE seq >= %s ORDER BY seq",  # type: ignore[arg-type]
            (seq,),
        ).fetchall()
        prev = bytes(rows[0][10])
        for row in rows:
            digest = entry_hash(prev, row)
            conn.execute(
                "UPDATE intake.read_audit SET prev_hash = %s, hash = %s WHERE seq = %s",
                (prev, digest, row[0]),
            )
            prev = digest


def test_every_services_head_is_anchored_and_verify_all_holds_it(intake, capsys):
    _three_anchored_reads(intake)

    code, out = _verify_all(intake.settings, capsys)
    anchors = _anchors(intake.settings)

    assert [(a.service, a.audit_seq) for a in anchors] == [
        ("intake", 1),
        ("intake", 3),
        ("intake", 5),
    ]
    assert code == 0, out
    assert "read audits: 3 anchors in the ledger, their own chain holds" in out
    assert "intake: 6 entries, 3 of 3 anchors hold: OK" in out


def test_a_round_with_nothing_new_anchors_nothing_and_an_empty_log_nothing(intake):
    assert intake.anchor() == {"intake": "empty"}
    assert intake.anchor() == {"intake": "anchored"}  # the first round's own read of the head
    assert [a.audit_seq for a in _anchors(intake.settings)] == [1]


def test_an_entry_changed_in_place_is_named(intake, capsys):
    _three_anchored_reads(intake)
    _rewrite(intake.settings, 3, recompute=False)

    code, out = _verify_all(intake.settings, capsys)
    code_fr, out_fr = _verify_all(intake.settings, capsys, "--lang", "fr")
    code_ar, out_ar = _verify_all(intake.settings, capsys, "--lang", "ar")

    assert code == code_fr == code_ar == 1
    assert "intake: FAILED at entry 3: entry 3: its fields do not match its hash" in out
    assert (
        "intake : ÉCHEC à l'inscription 3 : inscription 3 : ses champs ne correspondent pas à son"
        " empreinte" in out_fr
    )
    assert "journaux des consultations : 3 ancrages dans le registre" in out_fr
    assert "intake: فشل عند القيد 3: القيد 3: حقوله لا تطابق بصمته" in out_ar


def test_a_rewrite_with_its_chain_recomputed_is_caught_by_the_anchors(intake, capsys):
    _three_anchored_reads(intake)
    _rewrite(intake.settings, 3, recompute=True)
    verified = httpx.get(
        f"{intake.url}/audit/verify", headers={**auth(intake.settings, "auditor"), **PURPOSE}
    ).json()

    round_ = intake.anchor()
    code, out = _verify_all(intake.settings, capsys)

    assert verified["ok"] is True  # the log's own chain cannot see it
    assert round_ == {"intake": "rewritten"}
    assert code == 1
    assert (
        "intake: FAILED at entry 2: entry 3 is not the one anchored in the ledger: the log was"
        " rewritten from entry 2 (the last anchor that holds is entry 1) to entry 3 at the latest"
    ) in out


def test_a_log_cut_after_anchoring_is_caught(intake, capsys):
    _three_anchored_reads(intake)
    with _owner(intake.settings) as conn:
        conn.execute("DELETE FROM intake.read_audit WHERE seq >= 5")

    code, out = _verify_all(intake.settings, capsys)

    assert code == 1
    assert "intake: FAILED at entry 5: entry 5 is missing: the log was cut" in out


def test_a_changed_anchor_breaks_the_anchors_own_chain(intake, capsys):
    _three_anchored_reads(intake)
    with psycopg.connect(intake.settings.database.conninfo(), autocommit=True) as conn:
        conn.execute("ALTER TABLE ledger.audit_anchors DISABLE TRIGGER USER")
        conn.execute("UPDATE ledger.audit_anchors SET audit_seq = 2 WHERE anchor_seq = 2")

    code, out = _verify_all(intake.settings, capsys)

    assert code == 1
    assert "FAILED: their own chain: anchor 2 (intake) was changed" in out


def test_a_service_that_does_not_answer_is_not_anchored_and_nothing_breaks(intake):
    settings = intake.settings.model_copy(update={"service_urls": "intake=http://127.0.0.1:9"})

    outcome = Intake(settings, intake.url).anchor()

    assert outcome == {"intake": "unanswered: ConnectError"}
    assert _anchors(settings) == []


def test_a_running_ledger_anchors_its_own_audit_and_the_services_now_and_then(intake):
    intake.read()
    settings = intake.settings.model_copy(update={"audit_anchor_seconds": 0.2})

    with running(ledger_app(settings)) as ledger:
        ledger.get("/checkpoints/key", headers={**auth(settings, "auditor"), **PURPOSE})
        anchored = eventually(
            lambda: {a.service for a in _anchors(settings)} >= {"intake", "ledger"}
        )

    assert anchored
