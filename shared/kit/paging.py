"""Paged lists: the answer (`Page[Item]`), the query parameters (`Paged`), the SQL (`fetch_page`).

Every list answers `{items, total, limit, offset}` (some add a figure of their own, in a subclass
of their `Page`); `Where` gathers a list's conditions and their parameters, the caller's scope
(`shared.kit.scope.condition`) among them; `fetch_page` runs the page and its count alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from shared.kit.scope import Scope, condition

__all__ = [
    "LIMIT_MAX",
    "OFFSET_MAX",
    "Page",
    "Paged",
    "PagedLong",
    "Paging",
    "Rows",
    "TimeText",
    "Where",
    "fetch_page",
]

T = TypeVar("T")

LIMIT_MAX = 500
OFFSET_MAX = 10_000_000

TimeText = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""A time in a list's item, as the query wrote it (`datetime.isoformat`)."""


class Page(BaseModel, Generic[T]):
    """One page of a list: its items, how many there are in all, and where the page starts."""

    items: list[T]
    total: int = Field(description="How many items the whole list has.")
    limit: int = Field(description="The most items a page holds, as asked.")
    offset: int = Field(description="How many items of the list come before this page.")


@dataclass(frozen=True)
class Paging:
    """The page a caller asks for."""

    limit: int
    offset: int


def _paging(default_limit: int) -> Callable[..., Awaitable[Paging]]:
    async def paging(  # async: FastAPI calls it on the loop, not in a thread
        limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = default_limit,
        offset: Annotated[int, Query(ge=0, le=OFFSET_MAX)] = 0,
    ) -> Paging:
        return Paging(limit, offset)

    return paging


Paged = Annotated[Paging, Depends(_paging(50))]
"""FastAPI dependency: the `limit` (1 to 500, 50 by default) and `offset` query parameters."""

PagedLong = Annotated[Paging, Depends(_paging(100))]
"""As `Paged`, 100 items by default: for the work lists (deadlines, reviews)."""


Fetch = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


@dataclass
class Where:
    """A list's conditions (SQL with `{schema}`), each with its parameters, joined by AND."""

    clauses: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, clause: str, *params: Any) -> Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def given(self, value: Any, clause: str) -> Where:
        """`clause` with `value` as its one parameter, unless the value is None."""
        return self if value is None else self.add(clause, value)

    def visible(self, scope: Scope, column: str, *, command: str | None = None) -> Where:
        """Only the cases in `column` the scope may see (or, with `command`, act on)."""
        clause, params = condition(scope, column, command=command)
        return self.add(clause, *params)

    @property
    def sql(self) -> str:
        return " WHERE " + " AND ".join(f"({c})" for c in self.clauses) if self.clauses else ""


@dataclass(frozen=True)
class Rows:
    """A page of rows and the list's total; `answer` makes the page's JSON from its items."""

    rows: list[tuple[Any, ...]]
    total: int
    limit: int
    offset: int

    def answer(self, items: list[Any], **extra: Any) -> dict[str, Any]:
        return {
            "items": items,
            "total": self.total,
            "limit": self.limit,
            "offset": self.offset,
            **extra,
        }


def fetch_page(
    fetch: Fetch,
    *,
    select: str,
    source: str,
    where: Where,
    order_by: str,
    limit: int,
    offset: int,
    select_params: Sequence[Any] = (),
    order_params: Sequence[Any] = (),
) -> Rows:
    """`select` (the columns) from `source` (FROM and JOINs) under `where`, ordered, one page of
    it; and the count of the whole list, under the same conditions."""
    rows = fetch(
        f"{select} {source}{where.sql} ORDER BY {order_by} LIMIT %s OFFSET %s",
        [*select_params, *where.params, *order_params, limit, offset],
    )
    total = fetch(f"SELECT count(*) {source}{where.sql}", where.params)[0][0]
    return Rows(rows, int(total), limit, offset)
