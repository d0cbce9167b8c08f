"""Read models of assessment: the case list, review dues, placements and instruments.

Each is written in the same transaction as the events it follows; lists, overdue reviews and
placement conflicts are read from here, never by replaying aggregates.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from shared.kit.store import Op, View

__all__ = ["AssessedCases", "InstrumentCatalogue", "Placements", "ReviewSchedule"]


def _at(event: Any) -> Any:
    meta = getattr(event, "meta", None)
    return meta.recorded_at if meta is not None else event.timestamp


class AssessedCases(View):
    """Which cases the service knows, where the person is held, and their current risk."""

    tables: ClassVar[tuple[str, ...]] = ("assessed_cases",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.assessed_cases ("
        " case_id uuid PRIMARY KEY, status text NOT NULL, facility text, current_risk text,"
        " risk_assessment_id uuid, risk_countersigned_at timestamptz,"
        " opened_at timestamptz NOT NULL,"
        " version int NOT NULL, updated_at timestamptz NOT NULL,"
        " minor_at_facts boolean NOT NULL DEFAULT false, quarter text)",
        "CREATE INDEX IF NOT EXISTS assessed_cases_facility ON {schema}.assessed_cases (facility)",
        "CREATE INDEX IF NOT EXISTS assessed_cases_opened ON {schema}.assessed_cases"
        " (opened_at DESC, case_id)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = type(event).__name__
        case_id, version, at = event.originator_id, event.originator_version, _at(event)
        if name == "CaseOpened":
            return [
                (
                    "INSERT INTO {schema}.assessed_cases (case_id, status, opened_at, version,"
                    " updated_at, minor_at_facts) VALUES (%s, 'arrested', %s, %s, %s, %s)"
                    " ON CONFLICT (case_id) DO NOTHING",
                    (
                        case_id,
                        event.opened_at,
                        version,
                        at,
                        bool(getattr(event, "minor_at_facts", False)),
                    ),
                )
            ]
        if name == "CustodyNoted":
            return [
                (
                    "UPDATE {schema}.assessed_cases SET status = %s,"
                    " quarter = CASE WHEN %s::text IS NULL THEN quarter ELSE %s END,"
                    " facility = COALESCE(%s, facility), version = %s, updated_at = %s"
                    " WHERE case_id = %s",
                    (
                        event.status,
                        event.facility,
                        getattr(event, "quarter", None),
                        event.facility,
                        version,
                        at,
                        case_id,
                    ),
                )
            ]
        if name == "AssessmentCountersigned":
            return [
                (
                    "UPDATE {schema}.assessed_cases SET current_risk = %s, risk_assessment_id = %s,"
                    " risk_countersigned_at = %s, version = %s, updated_at = %s WHERE case_id = %s",
                    (event.overall_risk, event.data.assessment_id, at, version, at, case_id),
                )
            ]
        if name in _CASE_EVENTS:
            return [
                (
                    "UPDATE {schema}.assessed_cases SET version = %s, updated_at = %s"
                    " WHERE case_id = %s",
                    (version, at, case_id),
                )
            ]
        return []


_CASE_EVENTS = frozenset(
    {
        "AssessmentDue",
        "AssessmentStarted",
        "IndicatorRated",
        "AssessmentSubmitted",
        "NeedsAssessed",
        "PlacementDecided",
        "EntryVoided",
    }
)


class ReviewSchedule(View):
    """When each case's assessments fall due, and which countersignature met each due date."""

    tables: ClassVar[tuple[str, ...]] = ("review_schedule",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.review_schedule ("
        " event_id uuid PRIMARY KEY, case_id uuid NOT NULL, kind text NOT NULL,"
        " due_by timestamptz NOT NULL, trigger text NOT NULL, caused_by uuid,"
        " recorded_at timestamptz NOT NULL, satisfied_by uuid, satisfied_at timestamptz)",
        "CREATE INDEX IF NOT EXISTS review_schedule_open ON {schema}.review_schedule (due_by)"
        " WHERE satisfied_by IS NULL",
        "CREATE INDEX IF NOT EXISTS review_schedule_case ON {schema}.review_schedule (case_id)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = type(event).__name__
        if name == "AssessmentDue":
            data, meta = event.data, event.meta
            return [
                (
                    "INSERT INTO {schema}.review_schedule (event_id, case_id, kind, due_by,"
                    " trigger, caused_by, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    (
                        meta.event_id,
                        event.originator_id,
                        data.assessment_kind.value,
                        data.due_by,
                        data.trigger,
                        meta.causation_id,
                        meta.recorded_at,
                    ),
                )
            ]
        if name == "AssessmentCountersigned":
            # Only dues recorded before the countersignature are met by it: the review it sets
            # is inserted after this statement, in the same transaction.
            return [
                (
                    "UPDATE {schema}.review_schedule SET satisfied_by = %s, satisfied_at = %s"
                    " WHERE case_id = %s AND kind = 'risk' AND satisfied_by IS NULL",
                    (event.data.assessment_id, event.meta.recorded_at, event.originator_id),
                )
            ]
        return []


class Placements(View):
    """Every placement decision, and whether it was voided: the latest standing one counts."""

    tables: ClassVar[tuple[str, ...]] = ("placements",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.placements ("
        " event_id uuid PRIMARY KEY, case_id uuid NOT NULL, seq int NOT NULL,"
        " security_level text NOT NULL, keep_separate_from uuid[] NOT NULL,"
        " decided_by text NOT NULL, recorded_at timestamptz NOT NULL,"
        " voided boolean NOT NULL DEFAULT false)",
        "CREATE INDEX IF NOT EXISTS placements_case ON {schema}.placements (case_id, seq DESC)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = type(event).__name__
        if name == "PlacementDecided":
            data, meta = event.data, event.meta
            return [
                (
                    "INSERT INTO {schema}.placements (event_id, case_id, seq, security_level,"
                    " keep_separate_from, decided_by, recorded_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    (
                        meta.event_id,
                        event.originator_id,
                        event.originator_version,
                        data.security_level.value,
                        list(data.keep_separate_from),
                        data.decided_by,
                        meta.recorded_at,
                    ),
                )
            ]
        if name == "EntryVoided":
            return [
                (
                    "UPDATE {schema}.placements SET voided = true WHERE event_id = %s",
                    (event.data.voided_event_id,),
                )
            ]
        return []


class InstrumentCatalogue(View):
    """Every published instrument version, as published."""

    tables: ClassVar[tuple[str, ...]] = ("instrument_versions",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.instrument_versions ("
        " instrument_id uuid NOT NULL, version int NOT NULL, title text NOT NULL, kind text,"
        " event_id uuid NOT NULL, published_by text NOT NULL, published_at timestamptz NOT NULL,"
        " document jsonb NOT NULL, PRIMARY KEY (instrument_id, version))",
    )

    def apply(self, event: Any) -> list[Op]:
        if type(event).__name__ not in ("InstrumentPublished", "NextVersionPublished"):
            return []
        data, meta = event.data, event.meta
        return [
            (
                "INSERT INTO {schema}.instrument_versions (instrument_id, version, title, kind,"
                " event_id, published_by, published_at, document)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
                (
                    data.instrument_id,
                    data.instrument_version,
                    data.title,
                    data.assessment_kind.value if data.assessment_kind else None,
                    meta.event_id,
                    meta.actor,
                    meta.recorded_at,
                    json.dumps(data.model_dump(mode="json")),
                ),
            )
        ]
