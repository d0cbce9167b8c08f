"""NATS stopped while 200 commands are recorded: none fails, and the ledger ends with each once.

Publishing is never on the request path (SPEC §4): intake keeps answering 201 while the broker is
down, its relay waits, and after the restart the ledger holds every event once, in order.
"""

from __future__ import annotations

from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from shared.kit.servers import NatsServer
from tests.faults.harness import ROWS, audit, ledger_entries, record_cases
from tests.support import auth, eventually, running


def test_nats_stopped_during_200_commands_loses_and_duplicates_nothing(
    settings_factory, own_nats: NatsServer
):
    settings = settings_factory(nats_url=own_nats.url)
    auditor = auth(settings, "auditor")

    with running(intake_app(settings)) as intake, running(ledger_app(settings)) as ledger:
        acked = record_cases(intake, settings, 10)
        eventually(lambda: len(ledger_entries(ledger, auditor)) == len(acked))
        own_nats.stop()
        acked += record_cases(intake, settings, 100)
        own_nats.start()
        eventually(lambda: len(ledger_entries(ledger, auditor)) >= len(acked), timeout=60)
        result = audit(
            "NATS stopped during 200 commands, then restarted",
            settings,
            ledger,
            auditor,
            sent=220,
            acknowledged=acked,
        )
    ROWS.append(result)

    assert result.acknowledged == 220
    assert result.clean, result
