"""`caseline replay`: every read model rebuilt from the event stores and compared with the live one.

Services rebuild their views with `rebuild_views()`; the ledger's tree nodes are recomputed from the
entries and compared without writing. Each service's comparison runs in one transaction that
holds its writers back meanwhile, so on a live system it is exact, and the service waits.
"""

from __future__ import annotations

import importlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg.rows import tuple_row

from shared.kit.i18n import translate as _
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication

__all__ = ["ReplayResult", "application_class", "replay"]

Progress = Callable[[str, int | None], Callable[[int], None]]


@dataclass
class ReplayResult:
    """One service's replay: events replayed, rows compared, and the tables that differ."""

    service: str
    events: int = 0
    rows: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def application_class(service: str) -> type[CaselineApplication]:
    """The `CaselineApplication` subclass a service's `application` module defines."""
    module = importlib.import_module(f"services.{service}.application")
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, CaselineApplication)
            and value is not CaselineApplication
            and getattr(value, "service", None) == service
        ):
            return value
    raise LookupError(f"services.{service}.application defines no CaselineApplication")


def _snapshot(app: CaselineApplication, curs: Any, table: str) -> Counter[str]:
    # A cursor of the same transaction, giving plain tuples.
    with curs.connection.cursor(row_factory=tuple_row) as rows:
        rows.execute(app.store.fmt(f"SELECT * FROM {{schema}}.{table}"))
        return Counter(json.dumps(list(r), default=str, sort_keys=True) for r in rows.fetchall())


def _replay_service(app: CaselineApplication, progress: Progress) -> ReplayResult:
    result = ReplayResult(app.service)
    tables = app.view_tables
    total = app.recorder.max_notification_id() or 0
    # Compared within one transaction that no writer of the service can enter: on a live system
    # an event recorded between the look at the live views and the rebuild would differ falsely.
    with app.frozen() as curs:
        live = {t: _snapshot(app, curs, t) for t in tables}
        label = f"{app.service:<11} " + _("replay")
        result.events = app.rebuild_views(progress(label, total), within=curs)
        rebuilt = {t: _snapshot(app, curs, t) for t in tables}
    for table in tables:
        rebuilt_rows = rebuilt[table]
        result.rows += sum(rebuilt_rows.values())
        if rebuilt_rows != live[table]:
            only_live = sum((live[table] - rebuilt_rows).values())
            only_rebuilt = sum((rebuilt_rows - live[table]).values())
            result.differences.append(
                _(
                    "{table}: {only_live} live row(s) not reproduced, {only_rebuilt} row(s) differ"
                    " after the rebuild (the rebuilt rows are kept)",
                    table=f"{app.service}.{table}",
                    only_live=only_live,
                    only_rebuilt=only_rebuilt,
                )
            )
    return result


def _replay_ledger(settings: Settings, progress: Progress) -> ReplayResult:
    from services.ledger.application import LedgerApplication

    ledger = LedgerApplication(settings, create=False)
    try:
        label = "ledger      " + _("tree")
        check = ledger.check_tree(progress(label, ledger.store.tree_size()))
    finally:
        ledger.close()
    result = ReplayResult("ledger", events=check.entries, rows=check.nodes)
    if check.differing:
        first = check.differing[0]
        result.differences.append(
            _(
                "ledger.tree_nodes: {count} node(s) differ from the entries (first: level"
                " {level}, index {index})",
                count=len(check.differing),
                level=first[0],
                index=first[1],
            )
        )
    if check.stored_nodes != check.nodes:
        result.differences.append(
            _(
                "ledger.tree_nodes: {stored} stored, {rebuilt} rebuilt from the entries",
                stored=check.stored_nodes,
                rebuilt=check.nodes,
            )
        )
    return result


def _quiet(label: str, total: int | None) -> Callable[[int], None]:
    return lambda done: None


def replay(
    settings: Settings, services: Sequence[str] = (), progress: Progress = _quiet
) -> list[ReplayResult]:
    """Replay the installed services (or those named) and the ledger's projection."""
    from caseline.stack import installed_services

    chosen = [s for s in installed_services() if not services or s in services]
    results = []
    for service in chosen:
        if service == "ledger":
            results.append(_replay_ledger(settings, progress))
            continue
        app = application_class(service)(settings)
        try:
            results.append(_replay_service(app, progress))
        finally:
            app.factory.close()
    return results


def describe(results: Sequence[ReplayResult]) -> list[str]:
    lines = []
    for r in results:
        state = _("OK") if r.ok else _("DIFFERS")
        done = _("{events} events replayed, {rows} rows compared", events=r.events, rows=r.rows)
        lines.append(f"{r.service:<11} {state:<8} {done}")
        lines += [f"    {d}" for d in r.differences]
    return lines


__all__ += ["describe"]
