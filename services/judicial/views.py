"""Read models of judicial: the case register (`GET /cases`, sealing) and the detention
deadlines (`GET /deadlines`, the breach checker).

Every stored event of a judicial case carries `after`, the snapshot of the case once it is
applied (voidings included), so each view only writes what the snapshot says.
"""

from __future__ import annotations

from typing import Any, ClassVar

from shared.kit.store import Op, View

__all__ = ["DeadlineBoard", "JudicialRegister"]

_KINDS = ("custody", "pre_trial")


def _touched_at(event: Any) -> Any:
    meta = getattr(event, "meta", None)
    return meta.recorded_at if meta is not None else event.timestamp


class JudicialRegister(View):
    """Which cases judicial follows, at what stage, and whether a verdict makes them sealable."""

    tables: ClassVar[tuple[str, ...]] = ("judicial_cases",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.judicial_cases ("
        " case_id uuid PRIMARY KEY, arrested_at timestamptz NOT NULL,"
        " facility text, register_number text, stage text NOT NULL, offence_class text,"
        " verdict_outcome text,"
        " verdict_at timestamptz, sealed boolean NOT NULL, released_at timestamptz,"
        " version int NOT NULL, updated_at timestamptz NOT NULL)",
        "CREATE INDEX IF NOT EXISTS judicial_cases_arrested ON {schema}.judicial_cases"
        " (arrested_at DESC, case_id)",
        "CREATE INDEX IF NOT EXISTS judicial_cases_unsealed ON {schema}.judicial_cases"
        " (verdict_at) WHERE NOT sealed AND verdict_outcome IS NOT NULL",
    )

    def apply(self, event: Any) -> list[Op]:
        after = getattr(event, "after", None)
        if after is None:
            return []
        r = after["register"]
        return [
            (
                "INSERT INTO {schema}.judicial_cases (case_id, arrested_at, facility,"
                " register_number, stage, offence_class, verdict_outcome, verdict_at, sealed,"
                " released_at, version, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (case_id) DO UPDATE SET arrested_at = excluded.arrested_at,"
                " facility = excluded.facility, register_number = excluded.register_number,"
                " stage = excluded.stage, offence_class = excluded.offence_class,"
                " verdict_outcome = excluded.verdict_outcome, verdict_at = excluded.verdict_at,"
                " sealed = excluded.sealed, released_at = excluded.released_at,"
                " version = excluded.version, updated_at = excluded.updated_at",
                (
                    event.originator_id,
                    r["arrested_at"],
                    r["facility"],
                    r["register_number"],
                    r["stage"],
                    r["offence_class"],
                    r["verdict_outcome"],
                    r["verdict_at"],
                    r["sealed"],
                    r["released_at"],
                    event.originator_version,
                    _touched_at(event),
                ),
            )
        ]


class DeadlineBoard(View):
    """Each case's custody and pre-trial detention limits: until when, and whether breached."""

    tables: ClassVar[tuple[str, ...]] = ("deadlines",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.deadlines ("
        " case_id uuid NOT NULL, kind text NOT NULL, facility text, register_number text,"
        " source_event_id uuid NOT NULL, started_at timestamptz NOT NULL,"
        " expires_at timestamptz NOT NULL, alert_from timestamptz NOT NULL,"
        " renewals int NOT NULL, ended_at timestamptz, ended_by text,"
        " breach_detected_at timestamptz, legal_source text, version int NOT NULL,"
        " PRIMARY KEY (case_id, kind))",
        "CREATE INDEX IF NOT EXISTS deadlines_open ON {schema}.deadlines (expires_at)"
        " WHERE ended_at IS NULL",
        "CREATE INDEX IF NOT EXISTS deadlines_unbreached ON {schema}.deadlines (expires_at)"
        " WHERE breach_detected_at IS NULL",
    )

    def apply(self, event: Any) -> list[Op]:
        after = getattr(event, "after", None)
        if after is None:
            return []
        register = after["register"]
        ops: list[Op] = []
        for kind in _KINDS:
            deadline = after["deadlines"].get(kind)
            if deadline is None:
                ops.append(
                    (
                        "DELETE FROM {schema}.deadlines WHERE case_id = %s AND kind = %s",
                        (event.originator_id, kind),
                    )
                )
                continue
            ops.append(_upsert(event, kind, register, deadline))
        return ops


def _upsert(event: Any, kind: str, register: dict[str, Any], d: dict[str, Any]) -> Op:
    columns = (
        "facility, register_number, source_event_id, started_at, expires_at, alert_from, renewals,"
        " ended_at, ended_by, breach_detected_at, legal_source, version"
    )
    updates = ", ".join(f"{c.strip()} = excluded.{c.strip()}" for c in columns.split(","))
    return (
        f"INSERT INTO {{schema}}.deadlines (case_id, kind, {columns}) VALUES"
        " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        f" ON CONFLICT (case_id, kind) DO UPDATE SET {updates}",
        (
            event.originator_id,
            kind,
            register["facility"],
            register["register_number"],
            d["source_event_id"],
            d["started_at"],
            d["expires_at"],
            d["alert_from"],
            d["renewals"],
            d["ended_at"],
            d["ended_by"],
            d["breach_detected_at"],
            d["legal_source"],
            event.originator_version,
        ),
    )
