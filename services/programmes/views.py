"""Read models of programmes, kept in the same transaction as the events they follow.

`Catalogue` (which programmes, where, how many places), `Participation` (who takes part and how
much, for summaries), `CaseRegister` (whom programmes knows, where they are, whether released),
`FollowUps` (who is due a visit) and `Referrals` (each agency's referrals in and out).
"""

from __future__ import annotations

from typing import Any, ClassVar

from shared.kit.keystore import SealedColumn
from shared.kit.store import Op, View

__all__ = ["CaseRegister", "Catalogue", "FollowUps", "Participation", "Referrals"]


def _name(event: Any) -> str:
    return type(event).__qualname__


def _voided_name(event: Any) -> str:
    """The short event name of the entry an `EntryVoided` voids (e.g. `SessionAttended`)."""
    parts = str(event.data.voided_event_type or "").split(".")
    return parts[2] if len(parts) > 2 else ""


class Catalogue(View):
    """Which programmes exist, of which kind, where, run by whom, with how many places."""

    tables: ClassVar[tuple[str, ...]] = ("programme_catalogue",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.programme_catalogue ("
        " programme_id uuid PRIMARY KEY, kind text NOT NULL, title text NOT NULL,"
        " provider_agency text NOT NULL, capacity int NOT NULL, max_risk_level text,"
        " facility text, attendance_threshold int NOT NULL, starts_on date, ends_on date,"
        " created_at timestamptz NOT NULL, voided boolean NOT NULL DEFAULT false,"
        " version int NOT NULL)",
        "CREATE INDEX IF NOT EXISTS programme_catalogue_kind ON {schema}.programme_catalogue"
        " (kind, facility)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = _name(event)
        if not name.startswith("Programme."):
            return []
        ops: list[Op] = []
        if name == "Programme.ProgrammeCreated":
            ops.append(self._created(event))
        elif name == "Programme.EntryVoided" and _voided_name(event) == "ProgrammeCreated":
            ops.append(
                (
                    "UPDATE {schema}.programme_catalogue SET voided = true WHERE programme_id = %s",
                    (event.originator_id,),
                )
            )
        ops.append(
            (
                "UPDATE {schema}.programme_catalogue SET version = %s WHERE programme_id = %s",
                (event.originator_version, event.originator_id),
            )
        )
        return ops

    @staticmethod
    def _created(event: Any) -> Op:
        d = event.data
        return (
            "INSERT INTO {schema}.programme_catalogue (programme_id, kind, title,"
            " provider_agency, capacity, max_risk_level, facility, attendance_threshold,"
            " starts_on, ends_on, created_at, version)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (programme_id) DO NOTHING",
            (
                d.programme_id,
                d.kind.value,
                d.title,
                d.provider_agency,
                d.capacity,
                d.max_risk_level.value if d.max_risk_level else None,
                d.facility,
                d.attendance_threshold,
                d.starts_on,
                d.ends_on,
                event.meta.recorded_at,
                event.originator_version,
            ),
        )


class Participation(View):
    """Who took part in which programme, how often they attended, and how it ended."""

    tables: ClassVar[tuple[str, ...]] = ("participations", "attendance")
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.participations ("
        " participation_id uuid PRIMARY KEY, programme_id uuid NOT NULL, case_id uuid NOT NULL,"
        " enrolled_at timestamptz NOT NULL, status text NOT NULL,"
        " sessions_attended int NOT NULL DEFAULT 0, ended_at timestamptz, exit_event_id uuid,"
        " voided boolean NOT NULL DEFAULT false)",
        "CREATE INDEX IF NOT EXISTS participations_programme ON {schema}.participations"
        " (programme_id, status)",
        "CREATE INDEX IF NOT EXISTS participations_case ON {schema}.participations (case_id)",
        "CREATE TABLE IF NOT EXISTS {schema}.attendance ("
        " event_id uuid PRIMARY KEY, participation_id uuid NOT NULL, programme_id uuid NOT NULL,"
        " session_date date NOT NULL, voided boolean NOT NULL DEFAULT false)",
        "CREATE INDEX IF NOT EXISTS attendance_programme ON {schema}.attendance (programme_id)",
    )

    _ACTIVE = (
        "SELECT participation_id FROM {schema}.participations WHERE programme_id = %s"
        " AND case_id = %s AND status = 'active' AND NOT voided"
    )

    def apply(self, event: Any) -> list[Op]:
        name = _name(event)
        if name == "Programme.ParticipantEnrolled":
            return [
                (
                    "INSERT INTO {schema}.participations (participation_id, programme_id, case_id,"
                    " enrolled_at, status) VALUES (%s, %s, %s, %s, 'active')"
                    " ON CONFLICT (participation_id) DO NOTHING",
                    (
                        event.meta.event_id,
                        event.originator_id,
                        event.case_id,
                        event.data.enrolled_at,
                    ),
                )
            ]
        if name == "Programme.SessionAttended":
            return self._attended(event)
        if name in ("Programme.ParticipantCompleted", "Programme.ParticipantWithdrawn"):
            status = "completed" if name.endswith("Completed") else "withdrawn"
            at = event.data.completed_at if status == "completed" else event.data.withdrawn_at
            return [
                (
                    "UPDATE {schema}.participations SET status = %s, ended_at = %s,"
                    f" exit_event_id = %s WHERE participation_id = ({self._ACTIVE})",
                    (status, at, event.meta.event_id, event.originator_id, event.case_id),
                )
            ]
        if name == "Programme.EntryVoided":
            return self._voided(event)
        return []

    def _attended(self, event: Any) -> list[Op]:
        return [
            (
                "INSERT INTO {schema}.attendance (event_id, participation_id, programme_id,"
                f" session_date) SELECT %s, ({self._ACTIVE}), %s, %s"
                " ON CONFLICT (event_id) DO NOTHING",
                (
                    event.meta.event_id,
                    event.originator_id,
                    event.case_id,
                    event.originator_id,
                    event.data.session_date,
                ),
            ),
            (
                "UPDATE {schema}.participations SET sessions_attended = sessions_attended + 1"
                " WHERE participation_id = (SELECT participation_id FROM {schema}.attendance"
                " WHERE event_id = %s)",
                (event.meta.event_id,),
            ),
        ]

    def _voided(self, event: Any) -> list[Op]:
        target, kind = event.data.voided_event_id, _voided_name(event)
        if kind == "ParticipantEnrolled":
            return [
                (
                    "UPDATE {schema}.participations SET voided = true WHERE participation_id = %s",
                    (target,),
                )
            ]
        if kind == "SessionAttended":
            return [
                (
                    "UPDATE {schema}.participations SET sessions_attended = sessions_attended - 1"
                    " WHERE participation_id = (SELECT participation_id FROM {schema}.attendance"
                    " WHERE event_id = %s AND NOT voided)",
                    (target,),
                ),
                ("UPDATE {schema}.attendance SET voided = true WHERE event_id = %s", (target,)),
            ]
        if kind in ("ParticipantCompleted", "ParticipantWithdrawn"):
            return [
                (
                    "UPDATE {schema}.participations SET status = 'active', ended_at = NULL,"
                    " exit_event_id = NULL WHERE exit_event_id = %s",
                    (target,),
                )
            ]
        return []


_RECOMPUTE = (
    "UPDATE {schema}.case_register SET"
    " facility = (SELECT facility FROM {schema}.case_facts WHERE case_id = %s"
    "  AND kind = 'location' AND NOT voided ORDER BY seq DESC LIMIT 1),"
    " released_at = (SELECT released_at FROM {schema}.case_facts WHERE case_id = %s"
    "  AND kind = 'release' AND NOT voided ORDER BY seq DESC LIMIT 1),"
    " risk = (SELECT s.risk FROM {schema}.case_facts c JOIN {schema}.case_facts s"
    "  ON s.case_id = c.case_id AND s.kind = 'submitted' AND s.assessment_id = c.assessment_id"
    "  AND NOT s.voided WHERE c.case_id = %s AND c.kind = 'countersigned' AND NOT c.voided"
    "  ORDER BY c.seq DESC, s.seq DESC LIMIT 1),"
    " keep_separate_from = coalesce((SELECT keep_separate_from FROM {schema}.case_facts"
    "  WHERE case_id = %s AND kind = 'placement' AND NOT voided ORDER BY seq DESC LIMIT 1),"
    "  '{}'::uuid[])"
    " WHERE case_id = %s"
)

_FACTS = {
    "CaseFile.LocationNoted": "location",
    "CaseFile.ReleaseNoted": "release",
    "CaseFile.RiskSubmitted": "submitted",
    "CaseFile.RiskCountersigned": "countersigned",
    "CaseFile.PlacementNoted": "placement",
}


class CaseRegister(View):
    """Whom programmes knows: name, current facility, release, countersigned risk, placement.

    The name is kept encrypted under the case's key: erasing the case's key erases it here too.
    """

    name = SealedColumn(b"caseline:programmes.case_register.name")

    def bind(self, app: Any) -> None:
        self.name = SealedColumn(self.name.aad)
        self.name.bind(app.keys)

    tables: ClassVar[tuple[str, ...]] = ("case_register", "case_facts")
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.case_register ("
        " case_id uuid PRIMARY KEY, name_kid text, name_ct bytea, facility text,"
        " released_at timestamptz, risk text, keep_separate_from uuid[] NOT NULL DEFAULT '{}',"
        " opened_at timestamptz NOT NULL, version int NOT NULL)",
        "CREATE INDEX IF NOT EXISTS case_register_released ON {schema}.case_register (released_at)",
        "CREATE INDEX IF NOT EXISTS case_register_apart ON {schema}.case_register"
        " USING gin (keep_separate_from)",
        "CREATE TABLE IF NOT EXISTS {schema}.case_facts ("
        # `seq` is the case file's version: the same live and after a replay (a serial is not).
        " seq bigint NOT NULL, event_id uuid PRIMARY KEY, case_id uuid NOT NULL,"
        " kind text NOT NULL, facility text, released_at timestamptz, assessment_id uuid,"
        " risk text, keep_separate_from uuid[], voided boolean NOT NULL DEFAULT false)",
        "CREATE INDEX IF NOT EXISTS case_facts_case ON {schema}.case_facts (case_id, kind)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = _name(event)
        if not name.startswith("CaseFile."):
            return []
        case_id = event.originator_id
        if name == "CaseFile.CaseFileOpened":
            return [
                (
                    "INSERT INTO {schema}.case_register (case_id, opened_at, version)"
                    " VALUES (%s, %s, %s) ON CONFLICT (case_id) DO NOTHING",
                    (case_id, event.opened_at, event.originator_version),
                )
            ]
        ops: list[Op] = [
            (
                "UPDATE {schema}.case_register SET version = %s WHERE case_id = %s",
                (event.originator_version, case_id),
            )
        ]
        if name == "CaseFile.NameNoted":
            ops.append(
                (
                    "UPDATE {schema}.case_register SET name_kid = %s, name_ct = %s"
                    " WHERE case_id = %s",
                    (*self.name.seal(case_id, event.full_name), case_id),
                )
            )
        elif name in _FACTS or name == "CaseFile.FactVoided":
            ops += [self._fact(name, event), (_RECOMPUTE, (case_id,) * 5)]
        return ops

    def _fact(self, name: str, event: Any) -> Op:
        if name == "CaseFile.FactVoided":
            return (
                "UPDATE {schema}.case_facts SET voided = true WHERE event_id = %s",
                (event.event_id,),
            )
        return (
            "INSERT INTO {schema}.case_facts (seq, event_id, case_id, kind, facility, released_at,"
            " assessment_id, risk, keep_separate_from) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (event_id) DO NOTHING",
            (
                event.originator_version,
                event.event_id,
                event.originator_id,
                _FACTS[name],
                getattr(event, "facility", None),
                getattr(event, "released_at", None),
                getattr(event, "assessment_id", None),
                getattr(event, "risk", None),
                getattr(event, "keep_separate_from", None),
            ),
        )


class FollowUps(View):
    """Every follow-up of a released person: when, and how they were doing."""

    tables: ClassVar[tuple[str, ...]] = ("follow_ups",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.follow_ups ("
        " event_id uuid PRIMARY KEY, case_id uuid NOT NULL, at timestamptz NOT NULL,"
        " status text NOT NULL, voided boolean NOT NULL DEFAULT false)",
        "CREATE INDEX IF NOT EXISTS follow_ups_case ON {schema}.follow_ups (case_id, at)",
    )

    def apply(self, event: Any) -> list[Op]:
        name = _name(event)
        if name == "CaseFile.FollowUpRecorded":
            return [
                (
                    "INSERT INTO {schema}.follow_ups (event_id, case_id, at, status)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING",
                    (
                        event.meta.event_id,
                        event.originator_id,
                        event.data.at,
                        event.data.status.value,
                    ),
                )
            ]
        if name == "CaseFile.EntryVoided" and _voided_name(event) == "FollowUpRecorded":
            return [
                (
                    "UPDATE {schema}.follow_ups SET voided = true WHERE event_id = %s",
                    (event.data.voided_event_id,),
                )
            ]
        return []


class Referrals(View):
    """Each referral between agencies and where it stands: what each agency's inbox shows.

    The reason is personal: it is kept encrypted under the case's key, never in clear, and reads
    as erased once the key is gone.
    """

    reason = SealedColumn(b"caseline:programmes.referrals.reason")

    def bind(self, app: Any) -> None:
        self.reason = SealedColumn(self.reason.aad)
        self.reason.bind(app.keys)

    tables: ClassVar[tuple[str, ...]] = ("referrals",)
    create_statements: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS {schema}.referrals ("
        " referral_id uuid PRIMARY KEY, case_id uuid NOT NULL, from_agency text NOT NULL,"
        " to_agency text NOT NULL, reason_kid text, reason_ct bytea, status text NOT NULL,"
        " made_at timestamptz NOT NULL, made_event_id uuid NOT NULL, answer_event_id uuid,"
        " answered_at timestamptz)",
        "CREATE INDEX IF NOT EXISTS referrals_to ON {schema}.referrals (to_agency, status)",
        "CREATE INDEX IF NOT EXISTS referrals_from ON {schema}.referrals (from_agency, status)",
    )

    def apply(self, event: Any) -> list[Op]:
        name, meta = _name(event), getattr(event, "meta", None)
        if name == "CaseFile.ReferralMade" and meta is not None:
            d = event.data
            return [
                (
                    "INSERT INTO {schema}.referrals (referral_id, case_id, from_agency, to_agency,"
                    " reason_kid, reason_ct, status, made_at, made_event_id)"
                    " VALUES (%s, %s, %s, %s, %s, %s, 'pending', %s, %s)"
                    " ON CONFLICT (referral_id) DO NOTHING",
                    (
                        d.referral_id,
                        event.originator_id,
                        meta.agency,
                        d.to_agency,
                        *self.reason.seal(event.originator_id, d.reason),
                        meta.recorded_at,
                        meta.event_id,
                    ),
                )
            ]
        if name in ("CaseFile.ReferralAccepted", "CaseFile.ReferralDeclined") and meta is not None:
            status = "accepted" if name.endswith("Accepted") else "declined"
            return [
                (
                    "UPDATE {schema}.referrals SET status = %s, answer_event_id = %s,"
                    " answered_at = %s WHERE referral_id = %s",
                    (status, meta.event_id, meta.recorded_at, event.data.referral_id),
                )
            ]
        if name == "CaseFile.EntryVoided":
            return self._voided(event)
        return []

    def _voided(self, event: Any) -> list[Op]:
        target, kind = event.data.voided_event_id, _voided_name(event)
        if kind == "ReferralMade":
            return [
                (
                    "UPDATE {schema}.referrals SET status = 'revoked' WHERE made_event_id = %s",
                    (target,),
                )
            ]
        if kind in ("ReferralAccepted", "ReferralDeclined"):
            return [
                (
                    "UPDATE {schema}.referrals SET status = 'pending', answer_event_id = NULL,"
                    " answered_at = NULL WHERE answer_event_id = %s",
                    (target,),
                )
            ]
        return []
