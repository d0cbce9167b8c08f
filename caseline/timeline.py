"""`caseline timeline CASE_ID`: a case's timeline as the ledger holds it, and whether it verifies.

Asks the ledger's `GET /cases/{id}/timeline` and `GET /cases/{id}/verify` with the caller's token
(the ledger shows what the token's role may see, and records the read). Exit status 0 when the
case's chain verifies, 1 when it does not or the ledger could not be asked.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
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

__all__ = ["add_parser", "describe", "show_timeline"]

Say = Callable[[str], None]


def show_timeline(
    case_id: str,
    ledger_url: str,
    token: str,
    *,
    purpose: str | None = None,
    say: Say = print,
) -> int:
    """Print the case's visible entries in ledger order, then the verdict; 0 when it verifies."""
    with ledger_client(ledger_url, token, purpose=purpose) as http:
        try:
            timeline = _get(http, f"/cases/{case_id}/timeline")
            verdict = _get(http, f"/cases/{case_id}/verify")
        except LedgerRefusedError as exc:
            say(str(exc))
            return 1
    for line in describe(timeline, verdict):
        say(line)
    return 0 if verdict.get("ok") else 1


def _get(http: httpx.Client, path: str) -> dict[str, Any]:
    body: dict[str, Any] = ledger_request(http, "GET", path).json()
    return body


def describe(timeline: dict[str, Any], verdict: dict[str, Any]) -> list[str]:
    """The printed lines: a heading, one line per visible entry, the verification verdict."""
    entries = timeline["entries"]
    positions = {e["event"]["id"]: e["case_seq"] for e in entries}
    voided_by = {
        e["event"]["data"]["voided_event_id"]: e["case_seq"]
        for e in entries
        if "voided_event_id" in (e["event"].get("data") or {})
    }
    hidden = verdict.get("events", len(entries)) - len(entries)
    heading = _(
        "Timeline of case {case_id}: {count} entries",
        case_id=timeline["case_id"],
        count=len(entries),
    )
    if hidden > 0:
        heading += " " + _("({hidden} more in the ledger, not shown to you)", hidden=hidden)
    columns = (_("when (world time)"), _("service"), _("event"), _("recorded by"))
    lines = [
        heading,
        f"{'#':>4}  {columns[0]:<27}  {columns[1]:<10}  {columns[2]:<26}  {columns[3]}",
    ]
    lines += [_line(e, positions, voided_by) for e in entries]
    lines.append(_verdict(verdict))
    return lines


def _line(entry: dict[str, Any], positions: dict[str, int], voided_by: dict[str, int]) -> str:
    event = entry["event"]
    parts = str(event.get("type", "")).split(".")
    service, name = (parts[1], parts[2]) if len(parts) == 4 else ("?", ".".join(parts))
    notes = []
    voided = (event.get("data") or {}).get("voided_event_id")
    if voided:
        target = positions.get(voided)
        notes.append(
            _("voids #{seq}", seq=target)
            if target
            else _("voids {event_id} (hidden from you)", event_id=voided)
        )
    if event["id"] in voided_by:
        notes.append(_("VOIDED by #{seq}", seq=voided_by[event["id"]]))
    if event.get("personaldata") == "erased":
        notes.append(_("personal data erased"))
    if entry.get("redacted"):
        notes.append(_("withheld: {fields}", fields=", ".join(entry["redacted"])))
    who = f"{event.get('actor', '?')} ({event.get('agency', '?')})"
    tail = f"  [{'; '.join(notes)}]" if notes else ""
    return f"{entry['case_seq']:>4}  {event.get('time', ''):<27}  {service:<10}  {name:<26}  {who}{tail}"


def _verdict(verdict: dict[str, Any]) -> str:
    if verdict.get("ok"):
        head = str(verdict.get("head_hash") or "")[:16]
        return _(
            "verified: OK ({events} entries in the ledger, chain head {head}…)",
            events=verdict.get("events"),
            head=head,
        )
    reason = verdict.get("reason") or _("the chain does not verify")
    if verdict.get("first_bad_seq"):
        return _(
            "verified: FAILED at entry {seq}: {reason}", seq=verdict["first_bad_seq"], reason=reason
        )
    return _("verified: FAILED: {reason}", reason=reason)


def _command(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("CASELINE_TOKEN")
    if not token:
        sys.stderr.write(
            _(
                "a bearer token is needed: --token or CASELINE_TOKEN (`caseline token` mints one"
                " in development)"
            )
            + "\n"
        )
        return 1
    url = ledger_url(args.ledger)
    if url is None:
        return 1
    return show_timeline(args.case, url, token, purpose=args.purpose)


def add_parser(sub: Any) -> None:
    """Register `caseline timeline` on the CLI's subparsers."""
    parser = sub.add_parser(
        "timeline", help=_("print a case's timeline from the ledger, and whether it verifies")
    )
    parser.add_argument("case", help=_("the case id"))
    parser.add_argument(
        "--ledger",
        help=_(
            "the ledger's base URL (CASELINE_LEDGER_URL, else {default})", default=DEFAULT_LEDGER
        ),
    )
    parser.add_argument("--token", help=_("your bearer token (or CASELINE_TOKEN)"))
    parser.add_argument("--purpose", help=_("why you read the case (Caseline-Purpose)"))
    parser.set_defaults(func=_command)
