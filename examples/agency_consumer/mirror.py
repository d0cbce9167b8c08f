"""The agency's own copy of its deliveries: a SQLite database with one row per event, proven
against a signed checkpoint of the ledger once one covers it.

The table is also the consumer's seen-store: an event is handled when its row is there, so the
row and the mark are one write, and a crash cannot leave one without the other.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from caseline_client import Checkpoint, Delivery, Proof, checkpoint_json

__all__ = ["Mirror"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id    TEXT PRIMARY KEY,
    ledger_seq  INTEGER NOT NULL UNIQUE,
    hash        TEXT NOT NULL,
    case_id     TEXT NOT NULL,
    type        TEXT NOT NULL,
    time        TEXT,
    event       TEXT NOT NULL,     -- the CloudEvent as delivered (personal fields withheld)
    received_at TEXT NOT NULL,
    handled     INTEGER NOT NULL,  -- how often a delivery of it reached the handler: 1
    proof       TEXT,              -- the kit's Proof (JSON) once a signed checkpoint covers it
    refused     TEXT               -- why the ledger's proof was refused: an alarm for a person
);
CREATE TABLE IF NOT EXISTS checkpoint (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    body TEXT NOT NULL             -- the last checkpoint taken: the next must extend it
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Mirror:
    """The database; safe to use from the consumer's loop and the web server's threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- the kit's seen-store -----------------------------------------------------------------

    def seen(self, key: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM events WHERE event_id = ?", (key,)).fetchone()
        return row is not None

    def add(self, key: str) -> None:
        """Nothing to do: `record` wrote the row that marks the event handled."""

    # --- the handler --------------------------------------------------------------------------

    def record(self, delivery: Delivery) -> None:
        """Keep the event (a repeat only counts, so the copy shows it if one got through)."""
        event = json.dumps(delivery.event, ensure_ascii=False, sort_keys=True)
        with self._lock:
            self._db.execute(
                "INSERT INTO events (event_id, ledger_seq, hash, case_id, type, time, event,"
                " received_at, handled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
                " ON CONFLICT (event_id) DO UPDATE SET handled = handled + 1",
                (delivery.event_id, delivery.ledger_seq, delivery.hash, delivery.case_id,
                 delivery.type, delivery.event.get("time"), event, _now()),
            )  # fmt: skip

    # --- proofs -------------------------------------------------------------------------------

    def unproven(self, upto: int, limit: int = 500) -> list[tuple[str, int, str]]:
        """(event_id, ledger_seq, hash) of the events not proven yet, up to `ledger_seq` `upto`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, ledger_seq, hash FROM events"
                " WHERE proof IS NULL AND refused IS NULL AND ledger_seq <= ?"
                " ORDER BY ledger_seq LIMIT ?",
                (upto, limit),
            ).fetchall()
        return [(str(e), int(s), str(h)) for e, s, h in rows]

    def proven(self, event_id: str, proof: Proof) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE events SET proof = ? WHERE event_id = ?",
                (json.dumps(asdict(proof)), event_id),
            )

    def refuse(self, event_id: str, reason: str) -> None:
        with self._lock:
            self._db.execute("UPDATE events SET refused = ? WHERE event_id = ?", (reason, event_id))

    def trusted(self) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM checkpoint").fetchone()
        return json.loads(row[0]) if row else None

    def trust(self, checkpoint: Checkpoint) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO checkpoint (one, body) VALUES (1, ?)"
                " ON CONFLICT (one) DO UPDATE SET body = excluded.body",
                (checkpoint_json(checkpoint),),
            )

    # --- reads --------------------------------------------------------------------------------

    def event(self, event_id: str) -> Delivery | None:
        with self._lock:
            row = self._db.execute(
                "SELECT ledger_seq, hash, event FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
        if row is None:
            return None
        return Delivery(ledger_seq=int(row[0]), hash=str(row[1]), event=json.loads(row[2]))

    def counts(self) -> tuple[int, int]:
        """(events held, events proven)."""
        with self._lock:
            row = self._db.execute("SELECT count(*), count(proof) FROM events").fetchone()
        return int(row[0]), int(row[1])
