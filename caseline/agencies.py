"""`caseline agencies`: the partner agencies' deliveries as the ledger reports them (lag, parked,
last delivery), delivering a parked message again, and each agency's webhook endpoint.

Every subcommand asks the ledger over HTTP with the caller's token (`--token` or
`CASELINE_TOKEN`); the ledger decides who may do what (docs/agencies.md). Exit status 0 when the
ledger answered as asked, 1 otherwise, with the ledger's reason on standard error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from caseline.ledger_client import (
    DEFAULT_LEDGER,
    LedgerRefusedError,
    ledger_client,
    ledger_request,
    ledger_url,
)
from shared.kit.i18n import translate as _

__all__ = ["add_parser"]


def _call(
    args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    with ledger_client(args.ledger_url, args.token_value) as http:
        response = ledger_request(http, method, path, label=f"{method} {path}", body=body)
    answer: dict[str, Any] = response.json()
    return answer


def _when(seconds: float) -> str:
    if not seconds:
        return _("never")
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def _list(args: argparse.Namespace) -> list[str]:
    agencies = _call(args, "GET", "/deliveries/agencies")["agencies"]
    agency, lag, parked, last = _("agency"), _("lag"), _("parked"), _("last delivery")
    lines = [f"{agency:<28} {lag:>7} {parked:>7}  {last}"]
    for agency, figures in sorted(agencies.items()):
        lines.append(
            f"{agency:<28} {int(figures['lag']):>7} {int(figures['parked']):>7}"
            f"  {_when(figures['last'])}"
        )
    return lines


def _parked(args: argparse.Namespace) -> list[str]:
    parked = _call(args, "GET", "/deliveries/parked")["parked"]
    if not parked:
        return [_("no parked deliveries")]
    agency, parked_at = _("agency"), _("parked at")
    lines = [f"{agency:<28} {'ledger_seq':>10} {'stream_seq':>10}  {parked_at}"]
    for row in parked:
        lines.append(
            f"{row['agency']:<28} {row['ledger_seq']:>10} {row['stream_seq']:>10}"
            f"  {row['parked_at']}"
        )
    return lines


def _redeliver(args: argparse.Namespace) -> list[str]:
    _call(args, "POST", f"/deliveries/{args.agency}/parked/{args.seq}/redeliver", {})
    return [_("delivery {seq} goes to {agency} again", seq=args.seq, agency=args.agency)]


def _webhook_set(args: argparse.Namespace) -> list[str]:
    answer = _call(args, "PUT", f"/agencies/{args.agency}/webhook", {"url": args.url})
    lines = [_("{agency} receives its webhooks at {url}", agency=args.agency, url=answer["url"])]
    if "secret" in answer:
        lines.append(_("secret (shown this once): {secret}", secret=answer["secret"]))
    return lines


def _webhook_show(args: argparse.Namespace) -> list[str]:
    answer = _call(args, "GET", f"/agencies/{args.agency}/webhook")
    return [json.dumps(answer, indent=2, sort_keys=True)]


def _webhook_rotate(args: argparse.Namespace) -> list[str]:
    answer = _call(args, "POST", f"/agencies/{args.agency}/webhook/secret", {})
    return [
        _("new secret (shown this once): {secret}", secret=answer["secret"]),
        _(
            "the previous secret signs too until {until}",
            until=answer["previous_secret_until"],
        ),
    ]


def _webhook_replay(args: argparse.Namespace) -> list[str]:
    body = {"from_ledger_seq": args.from_seq}
    answer = _call(args, "POST", f"/agencies/{args.agency}/webhook/replay", body)
    return [
        _(
            "{queued} deliveries to {agency} queued again from {seq}",
            queued=answer["queued"],
            agency=args.agency,
            seq=args.from_seq,
        )
    ]


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
    found = ledger_url(args.ledger)
    if found is None:
        return 1
    args.ledger_url = found
    args.token_value = token
    try:
        lines = args.action(args)
    except LedgerRefusedError as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        help=_(
            "the ledger's base URL (CASELINE_LEDGER_URL, else {default})", default=DEFAULT_LEDGER
        ),
    )
    parser.add_argument("--token", help=_("your bearer token (or CASELINE_TOKEN)"))
    parser.set_defaults(func=_command)


def add_parser(sub: Any) -> None:
    """Register `caseline agencies …` on the CLI's subparsers."""
    agencies = sub.add_parser("agencies", help=_("the partner agencies' deliveries and webhooks"))
    actions = agencies.add_subparsers(dest="agencies_command", required=True)

    listing = actions.add_parser("list", help=_("each agency's lag, parked count, last delivery"))
    listing.set_defaults(action=_list)
    parked = actions.add_parser("parked", help=_("the deliveries parked after their last attempt"))
    parked.set_defaults(action=_parked)
    again = actions.add_parser("redeliver", help=_("deliver a parked message again (admin)"))
    again.add_argument("agency")
    again.add_argument("seq", type=int, help=_("the parked entry's ledger_seq"))
    again.set_defaults(action=_redeliver)
    for parser in (listing, parked, again):
        _common(parser)

    webhook = actions.add_parser("webhook", help=_("an agency's webhook endpoint"))
    hooks = webhook.add_subparsers(dest="webhook_command", required=True)
    put = hooks.add_parser("set", help=_("register or move the endpoint (admin)"))
    put.add_argument("agency")
    put.add_argument("url")
    put.set_defaults(action=_webhook_set)
    show = hooks.add_parser("show", help=_("the endpoint, its counts and parked entries"))
    show.add_argument("agency")
    show.set_defaults(action=_webhook_show)
    rotate = hooks.add_parser("rotate-secret", help=_("a new signing secret (admin)"))
    rotate.add_argument("agency")
    rotate.set_defaults(action=_webhook_rotate)
    replay = hooks.add_parser("replay", help=_("send again from a ledger_seq on"))
    replay.add_argument("agency")
    replay.add_argument("--from", dest="from_seq", type=int, required=True, help=_("ledger_seq"))
    replay.set_defaults(action=_webhook_replay)
    for parser in (put, show, rotate, replay):
        _common(parser)
