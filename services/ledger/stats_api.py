"""`GET /stats`: the aggregate, non-identifying statistics for monitoring and evaluation (SPEC §7),
as JSON, CSV or XLSX. Read by the roles of `STATS_READERS`; audited as every read is."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from services.ledger.api import LedgerApp
from services.ledger.statistics import Period
from services.ledger.stats_export import Lang, to_csv, to_xlsx
from shared.kit.auth import CurrentUser, require_role
from shared.kit.errors import InvalidFieldsError
from shared.permissions import STATS_READERS

__all__ = ["router"]

router = APIRouter(tags=["statistics"])

MAX_DAYS = 366 * 10
"""The longest span asked at once (ten years)."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date_text(value: Any) -> Any:
    # pydantic would read `0` as 1 January 1970: a local date is asked as YYYY-MM-DD only.
    if isinstance(value, str) and not _DATE.fullmatch(value):
        raise ValueError("a date must be YYYY-MM-DD")
    return value


DateQuery = Annotated[date | None, BeforeValidator(_date_text)]

_MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
            _MEDIA["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


@router.get("/stats", response_model=None, responses=_ANSWERS)
def stats(
    ledger: LedgerApp,
    user: CurrentUser,
    period: Annotated[Period, Query(description="month, quarter or year")] = "month",
    start: Annotated[DateQuery, Query(alias="from", description="first local date")] = None,
    end: Annotated[DateQuery, Query(alias="to", description="last local date")] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",
    lang: Annotated[Lang, Query(description="the export's headers")] = "fr",
) -> Response | dict[str, object]:
    """Counts, medians and 90th percentiles by facility and period; small counts suppressed."""
    require_role(user, *sorted(STATS_READERS))
    today = ledger.local_today()
    end = end or today
    start = start or date(end.year, 1, 1)
    if start > end:
        raise InvalidFieldsError("`from` must not be after `to`")
    if end - start > timedelta(days=MAX_DAYS):
        raise InvalidFieldsError("at most {days} days can be asked at once", days=MAX_DAYS)
    figures = ledger.statistics(period, start, end)
    if format == "json":
        return figures
    body = to_csv(figures, lang) if format == "csv" else to_xlsx(figures, lang)
    name = f"caseline-stats-{period}-{start.isoformat()}-{end.isoformat()}.{format}"
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
