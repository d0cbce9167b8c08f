"""`caseline agencies …` against a ledger served over HTTP with its deliveries running on a real
nats-server and PostgreSQL: the agencies' figures, the parked list, a redelivery refused when
nothing is parked, and each webhook subcommand, as the ledger allows them by role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from caseline.cli import main
from services.ledger.service import create_app as ledger_app
from shared.kit.settings import Settings
from tests.support import serving, token_for
from tests.support.database import settings_with


@pytest.fixture
def ledger(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    registry = tmp_path / "agencies.yaml"
    registry.write_text(
        "agencies:\n  - id: police-a\n    role: police\n  - id: inspection\n    role: auditor\n"
    )
    served = settings_with(settings, agencies_file=str(registry))
    with serving(ledger_app(served)) as url:
        yield url, served


def _run(capsys, url: str, token: str, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["agencies", *argv, "--ledger", url, "--token", token])
    out = capsys.readouterr()
    return int(exit_.value.code or 0), out.out, out.err


def _admin(settings: Settings) -> str:
    return token_for(settings, "admin", sub="ops-1", agency="caseline")


def test_the_list_shows_every_registered_agency_with_its_lag_parked_and_last_delivery(
    ledger, capsys
):
    url, settings = ledger

    code, out, _ = _run(capsys, url, _admin(settings), "list")

    assert code == 0
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows == {"inspection": ["0", "0", "never"], "police-a": ["0", "0", "never"]}


def test_nothing_parked_is_said_and_a_redelivery_of_nothing_fails_with_the_reason(ledger, capsys):
    url, settings = ledger

    parked = _run(capsys, url, _admin(settings), "parked")
    again = _run(capsys, url, _admin(settings), "redeliver", "police-a", "7")

    assert parked[:2] == (0, "no parked deliveries\n")
    assert again[0] == 1
    assert "(404)" in again[2]
    assert "no parked delivery 7" in again[2]


def test_an_agency_token_may_not_read_the_operators_figures(ledger, capsys):
    url, settings = ledger
    police = token_for(settings, "police", sub="p-1", agency="police-a")

    code, _, err = _run(capsys, url, police, "list")

    assert code == 1
    assert "(403)" in err


def test_a_webhook_is_set_shown_rotated_and_replayed_through_the_cli(ledger, capsys):
    url, settings = ledger
    admin = _admin(settings)

    made = _run(capsys, url, admin, "webhook", "set", "police-a", "http://127.0.0.1:9/hook")
    shown = _run(capsys, url, admin, "webhook", "show", "police-a")
    rotated = _run(capsys, url, admin, "webhook", "rotate-secret", "police-a")
    replayed = _run(capsys, url, admin, "webhook", "replay", "police-a", "--from", "1")

    assert made[0] == 0
    assert "secret (shown this once): whsec_" in made[1]
    assert shown[0] == 0
    assert '"url": "http://127.0.0.1:9/hook"' in shown[1]
    assert "whsec_" not in shown[1]
    assert rotated[0] == 0
    assert "new secret (shown this once): whsec_" in rotated[1]
    assert replayed == (0, "0 deliveries to police-a queued again from 1\n", "")
