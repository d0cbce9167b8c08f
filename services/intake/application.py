"""The intake application: the commands and queries of the case record (its only public API)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from shared.events.intake import ArrestRecorded, DetaineeAdmitted
from shared.kit.store import CaselineApplication, CommandContext, Recorded

from services.intake.domain import Case
from services.intake.views import CaseRegister

__all__ = ["IntakeApplication"]


class IntakeApplication(CaselineApplication):
    """Owns the case: it opens with an arrest and follows the person to release."""

    service = "intake"
    name = "intake"
    views = (CaseRegister,)

    def record_arrest(self, data: ArrestRecorded, ctx: CommandContext) -> Recorded:
        case_id = uuid4()
        case = Case(case_id=case_id, data=data, meta=self.meta(ctx, case_id))
        return self.commit(ctx, case)

    def admit(self, case_id: UUID, data: DetaineeAdmitted, ctx: CommandContext) -> Recorded:
        case = self.load(Case, case_id, ctx)
        case.admit(data, self.meta(ctx, case_id))
        return self.commit(ctx, case)

    # --- queries --------------------------------------------------------------------------

    def case_view(self, case_id: UUID) -> tuple[dict[str, Any], int]:
        case = self.load(Case, case_id)
        view = {
            "case_id": str(case.id),
            "status": case.status,
            "person": case.arrest.person.model_dump(mode="json"),
            "arrest": case.arrest.model_dump(mode="json", exclude={"person"}),
            "facility": case.facility,
            "admitted_at": case.admitted_at.isoformat() if case.admitted_at else None,
            "released_at": case.released_at.isoformat() if case.released_at else None,
            "entries": [{"type": t, "event_id": str(e)} for t, e in case.entries],
        }
        return view, case.version

    def list_cases(self, limit: int, offset: int, facility: str | None = None) -> dict[str, Any]:
        where, params = ("WHERE facility = %s", [facility]) if facility else ("", [])
        rows = self.fetch(
            "SELECT case_id, full_name, arrested_at, returning_foreign_fighter, status, facility,"
            f" version FROM {{schema}}.case_register {where}"
            " ORDER BY arrested_at DESC, case_id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        total = self.fetch(f"SELECT count(*) FROM {{schema}}.case_register {where}", params)[0][0]
        items = [
            {
                "case_id": str(r[0]),
                "full_name": r[1],
                "arrested_at": r[2].isoformat(),
                "returning_foreign_fighter": r[3],
                "status": r[4],
                "facility": r[5],
                "version": r[6],
            }
            for r in rows
        ]
        return {"items": items, "total": int(total), "limit": limit, "offset": offset}
