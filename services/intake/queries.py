"""The paged list of intake's cases: its SQL, and the items it answers."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from services.intake.application import IntakeApplication
from services.intake.views import CaseRegister
from shared.kit.paging import Page, TimeText, Where, fetch_page
from shared.kit.scope import Scope, condition, former_condition

__all__ = ["CaseItem", "CasePage", "FormerDetainee", "list_cases"]


class CaseItem(BaseModel):
    """A case the caller may see."""

    case_id: UUID
    full_name: str
    arrested_at: TimeText
    returning_foreign_fighter: bool
    status: str
    facility: str | None
    version: int


class FormerDetainee(BaseModel):
    """A person the caller's facility held before (a transfer out, a release): the name and
    that they left, nothing of the case."""

    case_id: UUID
    full_name: str
    status: Literal["left_facility"]
    history: Literal[True]


class CasePage(Page[CaseItem | FormerDetainee]):
    """A page of the cases."""


def list_cases(
    app: IntakeApplication, scope: Scope, limit: int, offset: int, facility: str | None = None
) -> dict[str, Any]:
    """The cases the scope may see, newest arrest first; a facility's former detainees as
    history entries (the name and that they left, nothing of the case)."""
    current, params = condition(scope, "r.case_id")
    former, former_params = former_condition(scope, "r.case_id")
    where = Where().add(f"({current}) OR ({former})", *params, *former_params)
    where.given(facility or None, "r.facility = %s")
    page = fetch_page(
        app.fetch,
        select="SELECT r.case_id, r.name_kid, r.name_ct, r.arrested_at,"
        f" r.returning_foreign_fighter, r.status, r.facility, r.version, ({current})",
        select_params=params,
        source="FROM {schema}.case_register r",
        where=where,
        order_by="r.arrested_at DESC, r.case_id",
        limit=limit,
        offset=offset,
    )
    name = app.view_object(CaseRegister).name
    items = [
        {
            "case_id": str(r[0]),
            "full_name": name(r[0], r[1], r[2]),
            "arrested_at": r[3].isoformat(),
            "returning_foreign_fighter": r[4],
            "status": r[5],
            "facility": r[6],
            "version": r[7],
        }
        if r[8]
        else {
            "case_id": str(r[0]),
            "full_name": name(r[0], r[1], r[2]),
            "status": "left_facility",
            "history": True,
        }
        for r in page.rows
    ]
    return page.answer(items)
