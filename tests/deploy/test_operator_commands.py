"""The operators' commands as they run in the read-only containers: `caseline export -o -` puts
the bundle on standard output (the report on standard error), an unwritable path is refused with
what to do, and `caseline env-file` finds the `.env.example` shipped beside the code from any
directory."""

from __future__ import annotations

import os
import stat

import pytest

from caseline.bundle import verify_bundle
from caseline.cli import main
from caseline.envfile import SHIPPED_EXAMPLE, parse
from services.ledger.application import LedgerApplication
from tests.deploy.support import ROOT
from tests.ledger.helpers import fill


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    return int(exit_.value.code or 0)


@pytest.fixture
def case_in_ledger(settings, monkeypatch) -> str:
    ledger = LedgerApplication(settings)
    case_id = str(fill(ledger, cases=1, per_case=3)[0])
    ledger.checkpointer.checkpoint_now()
    ledger.close()
    monkeypatch.setenv("CASELINE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CASELINE_ENVIRONMENT", "test")
    return case_id


def test_export_to_standard_output_writes_only_the_bundle_there(case_in_ledger, capfdbinary):
    code = _run(["export", case_in_ledger, "-o", "-"])

    out, err = capfdbinary.readouterr()
    assert code == 0
    assert verify_bundle(out).ok
    assert b"wrote the bundle to standard output" in err
    assert b"result:      OK" in err


def test_export_to_an_unwritable_place_says_how_to_take_the_bundle_out(
    case_in_ledger, tmp_path, capsys
):
    locked = tmp_path / "read-only"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.access(locked, os.W_OK):  # root ignores the mode: make the path itself impossible
        locked = tmp_path / "no-such-dir" / "deeper"

    code = _run(["export", case_in_ledger, "-o", str(locked / "case.json")])

    assert code == 1
    assert "-o - for standard output" in capsys.readouterr().err


def test_env_file_outside_the_checkout_uses_the_example_shipped_with_caseline(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)

    code = _run(["env-file"])

    filled = parse(capsys.readouterr().out)
    assert code == 0
    assert SHIPPED_EXAMPLE == ROOT / ".env.example"
    assert set(filled) == set(parse(SHIPPED_EXAMPLE.read_text()))
    assert filled["POSTGRES_PASSWORD"]
    assert filled["CASELINE_JWT_PUBLIC_KEY"]
