"""`caseline stats`: the ledger's aggregate statistics (`GET /stats`), printed or saved as a file.

Asks the ledger with the caller's token (auditor or admin; the read is audited). Without `-o` it
prints the counts by facility and period; with `--format csv|xlsx -o FILE` it saves the export the
ledger made (French headers unless `--headers en`). Exit status 0 when the ledger answered.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from caseline.ledger_client import (
    DEFAULT_LEDGER,
    LedgerRefusedError,
    ledger_client,
    ledger_request,
    ledger_url,
)
from shared.kit.i18n import translate as _

__all__ = ["add_parser", "describe", "fetch_stats"]

Say = Callable[[str], None]


def fetch_stats(
    ledger_url: str, token: str, params: dict[str, str], *, purpose: str | None = None
) -> httpx.Response:
    """The ledger's answer to `GET /stats` with these parameters (raises when refused)."""
    with ledger_client(ledger_url, token, purpose=purpose, timeout=300) as http:
        return ledger_request(http, "GET", "/stats", params=params)


def describe(stats: dict[str, Any]) -> list[str]:
    """The printed lines: what the figures are, then each count by facility and period."""
    from services.ledger.statistics import NO_FACILITY
    from services.ledger.stats_export import LABELS

    marker = _("suppressed")
    lines = [
        _(
            "Statistics of {jurisdiction} by {period}, {start} to {end} (local dates, {zone});"
            " counts under {min_cell} and their complements are suppressed",
            jurisdiction=stats["jurisdiction"],
            period=stats["period"],
            start=stats["from"],
            end=stats["to"],
            zone=stats["time_zone"],
            min_cell=stats["min_cell"],
        )
    ]
    for indicator in stats["indicators"]:
        label = LABELS["en"].get(indicator["name"], indicator["name"])
        lines.append(_("{indicator}:", indicator=_(label, context="stats")))
        for cell in indicator["cells"]:
            facility = cell["facility"] or _("all facilities")
            if facility == NO_FACILITY:
                facility = _("(not admitted)")
            where = f"{facility} / {cell['period'] or _('all periods')}"
            if cell["suppressed"]:
                shown = marker
            elif indicator["kind"] == "count":
                shown = str(cell["value"])
            elif cell["median"] is None:
                continue
            else:
                shown = _(
                    "median {median} days, p90 {p90} days", median=cell["median"], p90=cell["p90"]
                )
            lines.append(f"  {where:<60} {shown}")
    return lines


def _command(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("CASELINE_TOKEN")
    if not token:
        sys.stderr.write(_("a bearer token is needed: --token or CASELINE_TOKEN") + "\n")
        return 1
    if args.format != "json" and not args.output:
        sys.stderr.write(
            _("--format {format} writes a file: give it with -o FILE", format=args.format) + "\n"
        )
        return 1
    url = ledger_url(args.ledger)
    if url is None:
        return 1
    params = {"period": args.period, "format": args.format, "lang": args.headers}
    params.update({k: v for k, v in (("from", args.start), ("to", args.end)) if v})
    try:
        response = fetch_stats(url, token, params, purpose=args.purpose)
    except LedgerRefusedError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    if args.output:
        Path(args.output).write_bytes(response.content)
        print(_("written: {path}", path=args.output))
        return 0
    for line in describe(response.json()):
        print(line)
    return 0


def add_parser(sub: Any) -> None:
    """Register `caseline stats` on the CLI's subparsers."""
    parser = sub.add_parser("stats", help=_("aggregate statistics for M&E, printed or exported"))
    parser.add_argument("--period", choices=("month", "quarter", "year"), default="month")
    parser.add_argument("--from", dest="start", help=_("first local date, YYYY-MM-DD"))
    parser.add_argument("--to", dest="end", help=_("last local date, YYYY-MM-DD (default today)"))
    parser.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    parser.add_argument(
        "--headers",
        choices=("fr", "en"),
        default="fr",
        help=_("the language of the export's headers"),
    )
    parser.add_argument("-o", "--output", help=_("write the answer to this file"))
    parser.add_argument(
        "--ledger",
        help=_("the ledger's base URL (CASELINE_LEDGER_URL, else {url})", url=DEFAULT_LEDGER),
    )
    parser.add_argument("--token", help=_("your bearer token (or CASELINE_TOKEN)"))
    parser.add_argument("--purpose", help=_("why you read the statistics (Caseline-Purpose)"))
    parser.set_defaults(func=_command)
