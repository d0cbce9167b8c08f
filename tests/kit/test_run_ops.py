"""`run_ops`: a view's or an intake's SQL run a statement's run at a time, in the order given, and
server-prepared only when asked (where the transaction is rolled back whole on any error)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from shared.kit.recorder import Op, run_ops

INSERT = "INSERT INTO {schema}.items (n, label) VALUES (%s, %s)"
RELABEL = "UPDATE {schema}.items SET label = %s WHERE n = %s"
COPY = (
    "INSERT INTO {schema}.items (n, label) SELECT n + 100, label FROM {schema}.items WHERE n = %s"
)


SCHEMA = f"ops_{uuid4().hex[:8]}"


@pytest.fixture
def conn(settings: Any) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"CREATE TABLE {SCHEMA}.items (n int PRIMARY KEY, label text NOT NULL)")
        conn.commit()
        yield conn
        conn.rollback()
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
        conn.commit()


def fmt(statement: str) -> str:
    return statement.replace("{schema}", SCHEMA)


def _prepared(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT count(*) FROM pg_prepared_statements", prepare=False).fetchone()
    assert row is not None
    return int(row[0])


def test_runs_of_statements_apply_in_the_order_given(conn: psycopg.Connection[Any]) -> None:
    ops: list[Op] = [
        (INSERT, (1, "a")),
        (INSERT, (2, "b")),
        (RELABEL, ("b2", 2)),
        (COPY, (2,)),  # sees the relabelling before it
        (INSERT, (3, "c")),
        (RELABEL, ("c2", 3)),
        (RELABEL, ("c3", 3)),  # the later of two in one run wins
    ]
    with conn.cursor() as curs:
        run_ops(curs, ops, fmt)

    rows = conn.execute(f"SELECT n, label FROM {SCHEMA}.items ORDER BY n").fetchall()
    assert rows == [(1, "a"), (2, "b2"), (3, "c3"), (102, "b2")]


def test_nothing_is_prepared_unless_asked_and_the_connection_keeps_its_setting(
    conn: psycopg.Connection[Any],
) -> None:
    threshold = conn.prepare_threshold
    with conn.cursor() as curs:
        run_ops(curs, [(INSERT, (n, "x")) for n in range(20)], fmt)
        for n in range(100, 110):  # a run of one at a time, more often than psycopg's threshold
            run_ops(curs, [(INSERT, (n, "x")), (RELABEL, ("y", n))], fmt)
    assert _prepared(conn) == 0
    assert conn.prepare_threshold == threshold

    with conn.cursor() as curs:
        run_ops(curs, [(INSERT, (n, "x")) for n in range(20, 40)], fmt, prepare=True)
    assert _prepared(conn) == 1
    assert conn.prepare_threshold == threshold


def test_a_failing_run_leaves_the_connection_usable_after_its_rollback(
    conn: psycopg.Connection[Any],
) -> None:
    """What psycopg prepared in the failed transaction is forgotten with the rollback: the
    same statements run again on the same connection."""
    with pytest.raises(psycopg.errors.UniqueViolation), conn.transaction(), conn.cursor() as curs:
        run_ops(curs, [(INSERT, (1, "a")), (INSERT, (1, "again"))], fmt, prepare=True)
    with conn.transaction(), conn.cursor() as curs:
        run_ops(curs, [(INSERT, (1, "a")), (INSERT, (2, "b"))], fmt, prepare=True)

    assert conn.execute(f"SELECT count(*) FROM {SCHEMA}.items").fetchone() == (2,)
