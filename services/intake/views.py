"""Read models of intake: the case register behind `GET /cases`."""

from __future__ import annotations

from typing import Any, ClassVar

from shared.kit.store import Op, View

__all__ = ["CaseRegister"]


class CaseRegister(View):
    """Which cases exist, whom they concern and where the person is now."""

    tables: ClassVar[tuple[str, ...]] = ("case_register",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.case_register ("
        " case_id uuid PRIMARY KEY, full_name text NOT NULL, arrested_at timestamptz NOT NULL,"
        " returning_foreign_fighter boolean NOT NULL, status text NOT NULL, facility text,"
        " version int NOT NULL, updated_at timestamptz NOT NULL)",
        "CREATE INDEX IF NOT EXISTS case_register_arrested ON {schema}.case_register"
        " (arrested_at DESC, case_id)",
        "CREATE INDEX IF NOT EXISTS case_register_facility ON {schema}.case_register (facility)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = type(event).__name__
        meta = getattr(event, "meta", None)
        if meta is None:
            # Internal events (what intake learnt from judicial) still move the case's version.
            return [_touch(event)]
        if name == "EntryVoided":
            return [_restate(event, event.register)]
        if name == "ArrestRecorded":
            data = event.data
            return [
                (
                    "INSERT INTO {schema}.case_register (case_id, full_name, arrested_at,"
                    " returning_foreign_fighter, status, facility, version, updated_at)"
                    " VALUES (%s, %s, %s, %s, 'arrested', NULL, %s, %s)"
                    " ON CONFLICT (case_id) DO NOTHING",
                    (
                        event.originator_id,
                        data.person.full_name,
                        data.arrested_at,
                        data.returning_foreign_fighter,
                        event.originator_version,
                        meta.recorded_at,
                    ),
                )
            ]
        status, facility = _STATUS.get(name, (None, None))
        if status is None:
            return [_touch(event)]
        if facility == "facility":
            facility_value = event.data.facility
        elif facility == "to_facility":
            facility_value = event.data.to_facility
        else:
            facility_value = None
        keep = facility is None
        return [
            (
                "UPDATE {schema}.case_register SET status = %s,"
                " facility = CASE WHEN %s THEN facility ELSE %s END,"
                " version = %s, updated_at = %s WHERE case_id = %s",
                (
                    status,
                    keep,
                    facility_value,
                    event.originator_version,
                    meta.recorded_at,
                    event.originator_id,
                ),
            )
        ]


_STATUS: dict[str, tuple[str | None, str | None]] = {
    "CustodyStarted": ("in_custody", None),
    "DetaineeAdmitted": ("admitted", "facility"),
    "DetaineeTransferred": ("transferred", "to_facility"),
    "DetaineeReleased": ("released", None),
}


def _touch(event: Any) -> Op:
    meta = getattr(event, "meta", None)
    return (
        "UPDATE {schema}.case_register SET version = %s, updated_at = %s WHERE case_id = %s",
        (
            event.originator_version,
            meta.recorded_at if meta else event.timestamp,
            event.originator_id,
        ),
    )


def _restate(event: Any, register: dict[str, Any]) -> Op:
    # A voiding recomputes where the person is: the aggregate folded it, the event carries it.
    return (
        "UPDATE {schema}.case_register SET status = %s, facility = %s, version = %s,"
        " updated_at = %s WHERE case_id = %s",
        (
            register["status"],
            register["facility"],
            event.originator_version,
            event.meta.recorded_at,
            event.originator_id,
        ),
    )
