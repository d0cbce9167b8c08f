"""`caseline reconcile`: compare every service's event store with the ledger, re-publish the gaps.

Runs one reconciliation pass (`shared.kit.reconcile`) for each installed event-sourced service,
from its recorded watermark (or from the first event with `--from-start`), and prints per service
what was checked, missing, re-published and left for a later pass.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from shared.kit.bus import Bus
from shared.kit.i18n import translate as _
from shared.kit.reconcile import HttpLedger, LedgerQuery, Reconciler, ReconcileReport
from shared.kit.settings import Settings
from shared.kit.store import CaselineApplication

__all__ = ["add_parser", "event_sourced_services", "load_service", "reconcile_all"]

LedgerFactory = Callable[[Settings, str], LedgerQuery]


def event_sourced_services() -> tuple[str, ...]:
    """The installed services that keep their own event store (all but the ledger)."""
    from caseline.stack import installed_services

    return tuple(s for s in installed_services() if s != "ledger")


def load_service(name: str) -> type[CaselineApplication]:
    """A service's application class, found by the layout every service has."""
    module = importlib.import_module(f"services.{name}.application")
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, CaselineApplication)
        and getattr(obj, "service", None) == name
    ]
    if not classes:
        raise LookupError(f"services.{name}.application defines no application of {name!r}")
    return classes[0]


async def reconcile_all(
    settings: Settings,
    services: Sequence[str],
    *,
    ledger: LedgerFactory | None = None,
    from_start: bool = False,
    connect_timeout: float = 15.0,
) -> list[ReconcileReport]:
    """One pass for each service; raises when NATS cannot be reached."""
    bus = Bus(settings, "caseline-reconcile")
    bus.start()
    reports = []
    try:
        await asyncio.wait_for(bus.jetstream(), timeout=connect_timeout)
        for name in services:
            reports.append(await _one(settings, name, bus, ledger or HttpLedger, from_start))
    finally:
        await bus.close()
    return reports


async def _one(
    settings: Settings, name: str, bus: Bus, ledger: LedgerFactory, from_start: bool
) -> ReconcileReport:
    app_class = load_service(name)
    app = await asyncio.to_thread(app_class, settings)
    query = ledger(settings, name)
    try:
        reconciler = Reconciler(app, bus, query, margin_seconds=settings.reconcile_margin_seconds)
        return await reconciler.run_once(from_start=from_start)
    finally:
        closer = getattr(query, "aclose", None)
        if closer is not None:
            await closer()
        await asyncio.to_thread(app.factory.close)


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _command(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.ledger_url:
        overrides["ledger_url"] = args.ledger_url
    if args.margin is not None:
        overrides["reconcile_margin_seconds"] = args.margin
    settings = Settings(**overrides)
    if not settings.ledger_url:
        settings = Settings(**overrides, ledger_url="http://127.0.0.1:8005")
    services = args.service or list(event_sourced_services())
    try:
        reports = asyncio.run(reconcile_all(settings, services, from_start=args.from_start))
    except TimeoutError:
        _say(
            _(
                "NATS is not reachable at {url}",
                url=settings.nats_url or "nats://127.0.0.1:4222",
            )
        )
        return 2
    for report in reports:
        _say(report.line())
    deferred = sum(r.deferred for r in reports)
    if deferred:
        _say(
            _(
                "{deferred} missing event(s) left for a later pass (in flight, or still in the"
                " broker's duplicate window): run again later.",
                deferred=deferred,
            )
        )
    return 1 if deferred else 0


def add_parser(sub: Any) -> None:
    """Register `caseline reconcile` on the CLI's subparsers."""
    parser = sub.add_parser(
        "reconcile", help=_("re-publish what the services recorded and the ledger lacks")
    )
    parser.add_argument(
        "--ledger-url", help=_("the ledger (default CASELINE_LEDGER_URL, else :8005)")
    )
    parser.add_argument("--service", action="append", help=_("only this service (repeatable)"))
    parser.add_argument(
        "--from-start",
        action="store_true",
        help=_("check every event, not only after the watermark"),
    )
    parser.add_argument(
        "--margin",
        type=float,
        help=_("seconds an unpublished event counts as in flight (default 30)"),
    )
    parser.set_defaults(func=_command)
