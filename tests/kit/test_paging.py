"""Paged lists: one page and the count of the whole list under the same conditions (on a real
PostgreSQL), the `limit`/`offset` parameters every list takes, and the page's JSON."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.kit.paging import Page, Paged, PagedLong, Where, fetch_page
from shared.kit.settings import Settings


@pytest.fixture
def fetch(settings: Settings) -> Iterator[Any]:
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.things (n int NOT NULL, colour text NOT NULL)")
        conn.execute(
            "INSERT INTO public.things SELECT n, CASE WHEN n % 2 = 0 THEN 'red' ELSE 'blue' END"
            " FROM generate_series(1, 25) AS n"
        )

        def run(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
            return conn.execute(statement.format(schema="public"), params).fetchall()

        yield run


def test_a_page_and_the_total_of_the_whole_list(fetch: Any) -> None:
    rows = fetch_page(
        fetch,
        select="SELECT n",
        source="FROM {schema}.things t",
        where=Where().given("red", "colour = %s"),
        order_by="n DESC",
        limit=5,
        offset=2,
    )

    assert [r[0] for r in rows.rows] == [20, 18, 16, 14, 12]
    assert rows.answer([r[0] for r in rows.rows], as_of="now") == {
        "items": [20, 18, 16, 14, 12],
        "total": 12,
        "limit": 5,
        "offset": 2,
        "as_of": "now",
    }


def test_parameters_of_the_columns_conditions_and_order_go_where_they_belong(fetch: Any) -> None:
    rows = fetch_page(
        fetch,
        select="SELECT n * %s",
        select_params=[10],
        source="FROM {schema}.things",
        where=Where().add("n > %s OR n < %s", 20, 3).given(None, "colour = %s"),
        order_by="abs(n - %s), n",
        order_params=[22],
        limit=3,
        offset=0,
    )

    assert ([r[0] for r in rows.rows], rows.total) == ([220, 210, 230], 7)


def test_no_condition_is_the_whole_list(fetch: Any) -> None:
    rows = fetch_page(
        fetch, select="SELECT n", source="FROM {schema}.things", where=Where(),
        order_by="n", limit=500, offset=20,
    )  # fmt: skip

    assert ([r[0] for r in rows.rows], rows.total) == ([21, 22, 23, 24, 25], 25)


class Item(BaseModel):
    name: str
    note: str | None = None


app = FastAPI()


@app.get("/short", response_model_exclude_unset=True)
def short(page: Paged) -> Page[Item]:
    items = [{"name": "a"}, {"name": "b", "note": None}]
    return Page[Item].model_validate({"items": items, "total": 2, **vars(page)})


@app.get("/long")
def long(page: PagedLong) -> dict[str, int]:
    return vars(page)


CLIENT = TestClient(app)


def test_a_list_pages_by_50_and_a_work_list_by_100() -> None:
    assert CLIENT.get("/short").json()["limit"] == 50
    assert CLIENT.get("/long").json() == {"limit": 100, "offset": 0}


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "offset=-1", "offset=10000001"])
def test_a_page_out_of_bounds_is_refused(query: str) -> None:
    assert CLIENT.get(f"/long?{query}").status_code == 422


def test_an_item_answers_the_keys_it_was_given_and_no_more() -> None:
    assert CLIENT.get("/short?limit=2&offset=1").json() == {
        "items": [{"name": "a"}, {"name": "b", "note": None}],
        "total": 2,
        "limit": 2,
        "offset": 1,
    }


def test_the_page_schema_names_its_items() -> None:
    schema = app.openapi()["paths"]["/short"]["get"]["responses"]["200"]["content"]
    assert schema["application/json"]["schema"] == {"$ref": "#/components/schemas/Page_Item_"}
