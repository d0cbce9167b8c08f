"""`caseline migrate`: bring every service's schema to this release's version (or show where it is).

The services migrate their own schema at start-up; this runs the same migrations beforehand, e.g.
as the database owner before services that run as restricted roles start.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shared.kit.i18n import translate as _

__all__ = ["add_parser", "migrate"]


def _opener(service: str, settings: Any) -> Any:
    def open_app() -> Any:
        if service == "ledger":
            from services.ledger.application import LedgerApplication

            return LedgerApplication(settings)
        from caseline.replay import application_class

        return application_class(service)(settings)

    return open_app


def _close(app: Any) -> None:
    if app is None:
        return
    if hasattr(app, "shutdown"):
        app.shutdown()
    else:
        app.close()


def migrate(settings: Any, services: list[str], *, status: bool = False) -> list[str]:
    """Migrate (or, with `status`, describe) the named services' schemas; lines to print."""
    from shared.kit.migrations import Migrator

    lines = []
    for service in services:
        migrator = Migrator(settings, service)
        if status:
            lines += migrator.status()
            continue
        # The application is opened only when a migration rebuilds one of its views.
        needs_app = any(m.rebuild_views for m in migrator.migrations)
        done, app = migrator.run(_opener(service, settings) if needs_app else None)
        _close(app)
        lines.append(f"{service:<11} {', '.join(done) if done else _('up to date')}")
    return lines


def _cmd_migrate(args: argparse.Namespace) -> int:
    from caseline.stack import installed_services
    from shared.kit.migrations import MigrationError
    from shared.kit.settings import Settings

    services = [s for s in installed_services() if not args.service or s in args.service]
    try:
        for line in migrate(Settings(), services, status=args.status):
            print(line)
    except MigrationError as exc:
        print(_("caseline migrate: {error}", error=exc), file=sys.stderr)
        return 1
    return 0


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "migrate", help=_("bring the services' schemas to this release (see docs/migrations.md)")
    )
    parser.add_argument(
        "--service", action="append", help=_("only this service (repeatable); default: all")
    )
    parser.add_argument(
        "--status",
        action="store_true",
        help=_("show applied and pending migrations, change nothing"),
    )
    parser.set_defaults(func=_cmd_migrate)
