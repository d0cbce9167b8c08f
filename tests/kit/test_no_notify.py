"""Recording sends no PostgreSQL NOTIFY: nothing listens, and each one queues the commit for the
database's single notification lock."""

from __future__ import annotations

import psycopg
from psycopg import sql

from services.intake.application import IntakeApplication
from shared.events import ArrestRecorded
from shared.kit.store import CommandContext
from tests.support import arrest_payload


def test_a_recorded_command_notifies_no_listener(settings):  # type: ignore[no-untyped-def]
    app = IntakeApplication(settings)
    try:
        channel = app.store.channel_name
        with psycopg.connect(settings.database_url, autocommit=True) as listener:
            listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            ctx = CommandContext(actor="police-1", agency="police-agency")
            app.record_arrest(ArrestRecorded.model_validate(arrest_payload()), ctx)
            with psycopg.connect(settings.database_url, autocommit=True) as other:
                # The listener hears what is sent: this one, and only this one, arrives.
                other.execute(sql.SQL("NOTIFY {}, 'probe'").format(sql.Identifier(channel)))
            heard = [n.payload for n in listener.notifies(timeout=1.0, stop_after=2)]
        recorded = app.store.select_states(1, 10)
    finally:
        app.shutdown()

    assert len(recorded) == 1  # the arrest
    assert heard == ["probe"]
