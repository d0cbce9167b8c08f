"""The counts a candidate search weighs its digests by (`PersonIndex`: the registry's persons, the
persons holding each digest) stay exactly what counting the registry's rows gives, through
arrests of one person under several spellings, links and unlinks, an erasure and a replay of
every view; and a database of the release before them is counted once when migrated."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg

from shared.kit.migrations import Migrator, migrations_folder
from shared.kit.settings import Settings
from tests.intake.test_erasure import confirm, ordered, request
from tests.intake.test_person_links import HAWA, _answer, _case, _linked, _propose, _released
from tests.judicial.pathway import Stack

_RECOUNT = (
    "SELECT NULL, count(DISTINCT person_id) FROM {schema}.case_persons"
    " UNION ALL SELECT digest, count(DISTINCT person_id) FROM {schema}.person_index"
    " GROUP BY digest"
)
_KEPT = (
    "SELECT NULL, persons FROM {schema}.registry_size"
    " UNION ALL SELECT digest, persons FROM {schema}.digest_holders"
)
_KINDS_RECOUNT = (
    "SELECT person_id, count(*) FILTER (WHERE digest LIKE 'ns:%%'),"
    " count(*) FILTER (WHERE digest LIKE 'fs:%%'), count(*) FILTER (WHERE digest LIKE 'ms:%%'),"
    " count(*) FILTER (WHERE digest LIKE 'by:%%')"
    " FROM (SELECT DISTINCT person_id, digest FROM {schema}.person_index) r"
    " WHERE substr(digest, 1, 3) IN ('ns:', 'fs:', 'ms:', 'by:') GROUP BY person_id"
)
_KINDS_KEPT = "SELECT person_id, names, fathers, mothers, years FROM {schema}.person_kinds"


def _counts(fetch: Any, query: str) -> dict[str | None, int]:
    counts = {digest: int(n) for digest, n in fetch(query)}
    counts.setdefault(None, 0)
    return counts


def _kinds(fetch: Any, query: str) -> dict[Any, tuple[int, ...]]:
    return {row[0]: tuple(int(n) for n in row[1:]) for row in fetch(query)}


def _holds(stack: Stack) -> dict[str | None, int]:
    kept = _counts(stack.intake_app.fetch, _KEPT)
    assert kept == _counts(stack.intake_app.fetch, _RECOUNT)
    kinds = _kinds(stack.intake_app.fetch, _KINDS_KEPT)
    assert kinds == _kinds(stack.intake_app.fetch, _KINDS_RECOUNT)
    return kept


def test_the_counts_follow_arrests_links_unlinks_an_erasure_and_a_replay(stack: Stack) -> None:
    before = _holds(stack)
    spelt = {**HAWA, "full_name": "Hawa Oulet Mohamed Cisse"}  # the same person, written again
    _case(stack), _case(stack, spelt)
    arrested = _holds(stack)
    assert _kinds(stack.intake_app.fetch, _KINDS_KEPT)  # the arrested persons' names are counted
    _, second = _linked(stack)  # one person less, and its digests' holders with it
    linked = _holds(stack)
    unlink = {"kind": "unlink", "reason": "Wrong"}
    link_id = _propose(stack, second["case_id"], unlink).json()["link_id"]
    unlinked = _answer(stack, second["case_id"], link_id, "confirmation", "judge", "judge-a")
    assert unlinked.status_code == 201, unlinked.text
    apart = _holds(stack)
    unique = {**HAWA, "full_name": f"Erasecount Zeinabou {uuid.uuid4().hex[:8]}"}
    erased_case = _released(stack, unique)
    order_id = ordered(stack, erased_case)
    assert request(stack, erased_case, order_id).status_code == 201
    assert confirm(stack, erased_case, order_id).status_code == 201
    erased = _holds(stack)
    stack.intake_app.rebuild_views()
    replayed = _holds(stack)

    assert arrested[None] == before[None] + 2
    assert linked[None] == arrested[None] + 2 - 1  # two arrests, then one person for two cases
    assert apart[None] == linked[None] + 1  # the case names its own person again
    assert erased[None] == apart[None] + 1  # the erased case still names its person
    assert erased != apart
    assert replayed == erased


def test_a_registry_of_the_release_before_is_counted_when_migrated(
    settings: Settings, tmp_path: Path
) -> None:
    before = tmp_path / "intake"
    before.mkdir()
    for migration in sorted(migrations_folder(settings, "intake").glob("000[12]_*.sql")):
        shutil.copy(migration, before)
    Migrator(settings, "intake", before).run()
    one, two, three = (uuid.uuid4() for _ in range(3))
    rows = [
        (one, "nx:a", one),
        (one, "by:1990", one),
        (one, "ns:b", one),
        (two, "nx:a", one),
        (two, "ns:b", one),  # the same person's digest through two cases: counted once
        (three, "by:1990", three),
    ]
    with psycopg.connect(settings.database.conninfo()) as conn:
        conn.execute(
            "INSERT INTO intake.case_persons VALUES (%s, %s, %s), (%s, %s, %s), (%s, %s, %s)",
            (one, one, one, two, one, two, three, three, three),
        )
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO intake.person_index VALUES (%s, %s, %s)", rows)

    Migrator(settings, "intake").run()

    with psycopg.connect(settings.database.conninfo()) as conn:

        def fetch(query: str) -> list[tuple[Any, ...]]:
            return conn.execute(query.replace("{schema}", "intake")).fetchall()

        assert _counts(fetch, _KEPT) == {None: 2, "nx:a": 1, "by:1990": 2, "ns:b": 1}
        assert _counts(fetch, _KEPT) == _counts(fetch, _RECOUNT)
        assert _kinds(fetch, _KINDS_KEPT) == {one: (1, 0, 0, 1), three: (0, 0, 0, 1)}
        assert _kinds(fetch, _KINDS_KEPT) == _kinds(fetch, _KINDS_RECOUNT)
