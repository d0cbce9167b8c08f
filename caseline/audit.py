"""The auditors' commands: `verify`, `export`, `verify-bundle`, `witness`, `replay`, `ledger-role`,
`audit`.

`verify`, `export` and `replay` read CASELINE_DATABASE_URL; `verify-bundle` needs only the file;
`audit` asks the ledger (`--ledger`, else CASELINE_LEDGER_URL) with an auditor's token.
Exit status: 0 all good, 1 a check failed (or, for `audit`, a service's reads are missing), 2 a
witness saw an inconsistent history.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

from shared.kit.i18n import current_language
from shared.kit.i18n import translate as _
from shared.kit.settings import Settings

__all__ = ["Progress", "add_parsers", "run"]

Say = Callable[[str], None]


class Progress:
    """A one-line progress bar on a terminal stream, with the rate."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total or None
        self.stream = stream or sys.stderr
        self.started = time.perf_counter()
        self.shown = 0.0

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.shown < 0.2 and done != self.total:
            return
        self.shown = now
        rate = done / max(now - self.started, 1e-9)
        if self.total:
            filled = int(30 * min(done, self.total) / self.total)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {done:,}/{self.total:,}"
        else:
            bar = f"{done:,}"
        self.stream.write(f"\r{self.label} {bar} ({rate:,.0f}/s)")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def verify(settings: Settings, args: argparse.Namespace, say: Say = print) -> int:
    """One case's chain and proofs, or (`--all`) every entry, chain, checkpoint and cosignature."""
    from caseline.witness import witness_roots
    from services.ledger.anchors import check_read_audits
    from services.ledger.application import LedgerApplication
    from services.ledger.signing import LedgerKey

    trusted = LedgerKey.verifying(args.key) if args.key else None
    ledger = LedgerApplication(settings, create=False, key=trusted)
    try:
        key = ledger.public_key()
        line = _("ledger key {kid} (Ed25519 {key})", kid=key["key_id"], key=key["public_key"])
        say(line + ("  " + _("[DEVELOPMENT KEY]") if key["development"] else ""))
        if args.public_key:
            return 0
        if args.case and not args.all:
            result = ledger.verify_case(args.case).body()
            if result["ok"]:
                verdict = _("OK")
            elif result["first_bad_seq"]:
                verdict = _(
                    "FAILED at entry {seq}: {reason}",
                    seq=result["first_bad_seq"],
                    reason=result["reason"],
                )
            else:
                verdict = _("FAILED: {reason}", reason=result["reason"])
            say(
                _(
                    "case {case_id}: {events} events, head {head}: {verdict}",
                    case_id=args.case,
                    events=result["events"],
                    head=result["head_hash"],
                    verdict=verdict,
                )
            )
            return 0 if result["ok"] else 1
        roots: dict[int, tuple[str, bytes]] = {}
        for directory in args.witness:
            roots.update(witness_roots(Path(directory)))
        bar = Progress(_("verifying"), ledger.store.tree_size())
        report = ledger.verify_all(roots, progress=bar)
        bar(report.events)
        bar.finish()
        audits = check_read_audits(ledger.store)
    finally:
        ledger.close()
    say(
        _(
            "{events:,} entries of {cases:,} cases, {checkpoints} checkpoints, {cosignatures}"
            " witness cosignatures checked in {seconds:.2f} s ({rate:,.0f} entries/s)",
            events=report.events,
            cases=report.cases,
            checkpoints=report.checkpoints,
            cosignatures=report.cosignatures,
            seconds=report.seconds,
            rate=report.rate,
        )
    )
    if report.ok:
        say(_("OK: every chain, the Merkle tree and every signature verify"))
    else:
        if report.first_bad_seq:
            say(
                _(
                    "FAILED: first bad entry: {seq}; {reason}",
                    seq=report.first_bad_seq,
                    reason=report.reason,
                )
            )
        else:
            say(_("FAILED: {reason}", reason=report.reason))
        for problem in report.problems[1:]:
            say("  " + _("also: {problem}", problem=problem))
    audits_ok = _say_read_audits(*audits, say)
    return 0 if report.ok and audits_ok else 1


def _say_read_audits(broken: str | None, checks: list[Any], say: Say) -> bool:
    """Each service's read audit against the anchors the ledger holds; True when all hold."""
    anchors = sum(c.anchors for c in checks)
    if broken:
        say(
            _(
                "read audits: {anchors} anchors in the ledger; FAILED: their own chain: {reason}",
                anchors=anchors,
                reason=broken,
            )
        )
    else:
        say(
            _(
                "read audits: {anchors} anchors in the ledger, their own chain holds",
                anchors=anchors,
            )
        )
    for check in checks:
        say(f"  {check.line()}")
    return broken is None and all(c.ok for c in checks)


def export(settings: Settings, args: argparse.Namespace, say: Say = print) -> int:
    """Write a case's evidence bundle to a file, or (`-o -`) to standard output.

    With `-o -` the bundle's bytes alone go to standard output and the report to standard error,
    so that `docker compose run -T … export CASE -o - > case.bundle.json` takes the bundle out of
    a container whose file system is read-only.
    """
    from caseline.bundle import verify_bundle
    from services.ledger.application import LedgerApplication

    ledger = LedgerApplication(settings, create=False)
    try:
        data = ledger.export(args.case)
    finally:
        ledger.close()
    report = verify_bundle(data)
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        say = _to_stderr
        say(_("wrote the bundle to standard output ({size:,} bytes)", size=len(data)))
    else:
        path = Path(args.output or f"case-{args.case}.bundle.json")
        try:
            path.write_bytes(data)
        except OSError as exc:
            sys.stderr.write(
                _(
                    "cannot write {path}: {error}; give a writable path (a mounted volume)"
                    " with -o, or -o - for standard output",
                    path=path,
                    error=exc.strerror,
                )
                + "\n"
            )
            return 1
        say(_("wrote {path} ({size:,} bytes)", path=path, size=len(data)))
    for line in report.lines(_):
        say(line)
    return 0 if report.ok else 1


def _to_stderr(line: str) -> None:
    sys.stderr.write(f"{line}\n")


def verify_bundle_file(args: argparse.Namespace, say: Say = print) -> int:
    """Verify a bundle offline and print the short report."""
    from caseline.bundle import verify_bundle
    from shared.kit.origins import parse_public_keys

    witnesses = dict(item.split("=", 1) for item in args.witness_key)
    services = None
    try:
        raw = Path(args.file).read_bytes()
        if args.service_keys:
            services = parse_public_keys(Path(args.service_keys).read_text())
    except OSError as exc:
        say(_("cannot read {source}: {error}", source=exc.filename, error=exc.strerror))
        return 1
    except ValueError as exc:
        say(_("the service keys you trust are not readable: {error}", error=exc))
        return 1
    report = verify_bundle(raw, trusted_key=args.key, witness_keys=witnesses, service_keys=services)
    for line in report.lines(_):
        say(line)
    return 0 if report.ok else 1


def witness(args: argparse.Namespace, say: Say = print) -> int:
    from caseline.witness import Witness, WitnessError

    try:
        token = os.environ.get("CASELINE_WITNESS_TOKEN") or args.token
        w = Witness(
            Path(args.state), args.ledger, name=args.name, ledger_key=args.ledger_key, token=token
        )
    except WitnessError as exc:
        say(str(exc))
        return 1
    say(_("witness {name}, public key {key}", name=w.name, key=w.public_key()))
    return w.run(args.interval, args.once, say)


def replay(settings: Settings, args: argparse.Namespace, say: Say = print) -> int:
    from caseline.replay import describe
    from caseline.replay import replay as run_replay

    bars: list[Progress] = []

    def progress(label: str, total: int | None) -> Callable[[int], None]:
        if bars:
            bars[-1].finish()
        bars.append(Progress(label, total))
        return bars[-1]

    results = run_replay(settings, args.service, progress)
    if bars:
        bars[-1].finish()
    for line in describe(results):
        say(line)
    return 0 if all(r.ok for r in results) else 1


def ledger_role(settings: Settings, args: argparse.Namespace, say: Say = print) -> int:
    """As the database owner: create the ledger's tables and its insert-and-read-only role."""
    import psycopg

    from services.ledger.schema import create_owned_tables, grant_ledger_role

    password = os.environ.get(args.password_env) if args.password_env else None
    create_owned_tables(settings)
    with psycopg.connect(settings.database.conninfo(), autocommit=True) as conn:
        grant_ledger_role(conn, args.role, password)
    say(
        _(
            "role {role} may now only SELECT and INSERT on the ledger's tables;"
            " run the ledger with CASELINE_DATABASE_URL as {role}",
            role=args.role,
        )
    )
    return 0


def case_audit(settings: Settings, args: argparse.Namespace, say: Say = print) -> int:
    """Every read of one case across the five services, in time order, as the ledger merges them
    (`GET /audit/cases/{case_id}`); the auditor's own token, so the question is audited too."""
    import json

    import httpx

    token = os.environ.get("CASELINE_AUDIT_TOKEN") or args.token
    if not token:
        say(_("an auditor's bearer token is needed: --token or CASELINE_AUDIT_TOKEN"))
        return 1
    url = (args.ledger or settings.ledger_url or "http://127.0.0.1:8005").rstrip("/")
    params = {k: v.isoformat() for k in ("since", "until") if (v := getattr(args, k))}
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": current_language()}
    if args.purpose:
        headers["Caseline-Purpose"] = args.purpose
    try:
        response = httpx.get(
            f"{url}/audit/cases/{args.case}", params=params, headers=headers, timeout=120
        )
    except httpx.HTTPError as exc:
        say(_("the ledger at {url} did not answer: {error}", url=url, error=repr(exc)))
        return 1
    if response.status_code != 200:
        say(
            _(
                "the ledger refused ({status}): {detail}",
                status=response.status_code,
                detail=_problem_detail(response),
            )
        )
        return 1
    body = response.json()
    for line in [json.dumps(body, ensure_ascii=False, indent=2)] if args.json else _reads(body):
        say(line)
    return 0 if not body["missing"] and not body["truncated"] else 1


def _problem_detail(response: Any) -> str:
    try:
        return str(response.json().get("detail", ""))
    except (ValueError, AttributeError):
        return str(response.text[:300])


def _reads(body: dict[str, Any]) -> list[str]:
    """One line per read, oldest first, then what is missing."""
    entries = body["entries"]
    lines = [
        _(
            "case {case_id}: {count} reads on {services}",
            case_id=body["case_id"],
            count=len(entries),
            services=", ".join(body["services"]),
        )
    ]
    for e in entries:
        purpose = f'  "{e["purpose"]}"' if e.get("purpose") else ""
        lines.append(
            f"{e['at']}  {e['service']:<10} {e['outcome']:<12} {e['actor']}"
            f" ({e['agency']}, {e['role']})  {e['route']}{purpose}"
        )
    lines += [
        _("MISSING {service}: {reason}", service=m["service"], reason=m["reason"])
        for m in body["missing"]
    ]
    lines += [
        _(
            "TRUNCATED {service}: more reads than one answer holds; narrow with --since/--until",
            service=name,
        )
        for name in body["truncated"]
    ]
    return lines


def _case_id(text: str) -> str:
    """An argument `--case`: a case id, in any spelling of a UUID, as the ledger spells it."""
    try:
        return str(UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(_("not a case id: {text!r}", text=text)) from None


def _instant(text: str) -> datetime:
    """An argument `--since`/`--until`: an ISO 8601 instant with its offset."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("not an ISO 8601 instant: {text!r}", text=text)
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(
            _("give the offset too (e.g. Z or +00:00): {text!r}", text=text)
        )
    return value


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed `caseline` auditors' command."""
    handlers: dict[str, Callable[[], int]] = {
        "verify": lambda: verify(Settings(), args),
        "export": lambda: export(Settings(), args),
        "verify-bundle": lambda: verify_bundle_file(args),
        "witness": lambda: witness(args),
        "replay": lambda: replay(Settings(), args),
        "ledger-role": lambda: ledger_role(Settings(), args),
        "audit": lambda: case_audit(Settings(), args),
    }
    import psycopg

    from shared.kit.errors import CaselineError

    try:
        return handlers[args.command]()
    except CaselineError as exc:
        sys.stderr.write(f"{exc.detail}\n")
    except psycopg.Error as exc:
        sys.stderr.write(_("the database refused: {error}", error=str(exc).strip()) + "\n")
    except (RuntimeError, ValueError) as exc:  # configuration: keys, settings
        sys.stderr.write(f"{exc}\n")
    return 1


def _cmd(args: argparse.Namespace) -> int:
    return run(args)


def add_parsers(sub: Any) -> None:
    """Register the auditors' commands on `caseline`'s subcommand parser."""
    verify = sub.add_parser(
        "verify", help=_("verify the ledger's chains, Merkle tree and checkpoints")
    )
    verify.add_argument("case", nargs="?", help=_("one case id (default: the whole ledger)"))
    verify.add_argument("--all", action="store_true", help=_("the whole ledger, with progress"))
    verify.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="DIR",
        help=_("also check against a witness's stored checkpoints"),
    )
    verify.add_argument(
        "--public-key", action="store_true", help=_("print the ledger's key and stop")
    )
    verify.add_argument(
        "--key", help=_("check against this public key (base64), not the configured")
    )
    verify.set_defaults(func=_cmd)

    export = sub.add_parser("export", help=_("write a case's evidence bundle to one file"))
    export.add_argument("case")
    export.add_argument(
        "-o",
        "--output",
        help=_("the file, or - for standard output (default: case-<id>.bundle.json)"),
    )
    export.set_defaults(func=_cmd)

    bundle = sub.add_parser(
        "verify-bundle", help=_("verify an evidence bundle offline (no server)")
    )
    bundle.add_argument("file")
    bundle.add_argument("--key", help=_("the ledger public key you trust (base64 raw Ed25519)"))
    bundle.add_argument(
        "--witness-key",
        action="append",
        default=[],
        metavar="NAME=BASE64",
        help=_("require this witness's cosignature, checked with its key"),
    )
    bundle.add_argument(
        "--service-keys",
        metavar="FILE",
        help=_(
            "the services' public keys you trust (CASELINE_SERVICE_PUBLIC_KEYS, as JSON):"
            " every entry must be signed by one of them"
        ),
    )
    bundle.set_defaults(func=_cmd)

    witness = sub.add_parser(
        "witness", help=_("keep, check and countersign the ledger's checkpoints")
    )
    witness.add_argument("--ledger", required=True, help=_("the ledger's base URL"))
    witness.add_argument("--state", required=True, help=_("this witness's directory (key, copies)"))
    witness.add_argument("--name", help=_("this witness's name (required on the first run)"))
    witness.add_argument(
        "--ledger-key", help=_("pin the ledger's key (base64); default: first contact")
    )
    witness.add_argument("--interval", type=float, default=30.0, help=_("seconds between checks"))
    witness.add_argument("--once", action="store_true", help=_("check once and exit"))
    witness.add_argument(
        "--token", help=_("bearer token for reading the ledger (or CASELINE_WITNESS_TOKEN)")
    )
    witness.set_defaults(func=_cmd)

    replay = sub.add_parser(
        "replay", help=_("rebuild every read model from the events and compare")
    )
    replay.add_argument("--service", action="append", default=[], help=_("only this service"))
    replay.set_defaults(func=_cmd)

    audit = sub.add_parser(
        "audit", help=_("every read of a case on every service, in time order (asks the ledger)")
    )
    audit.add_argument("--case", required=True, type=_case_id, help=_("the case id"))
    audit.add_argument("--since", type=_instant, help=_("reads at or after this instant"))
    audit.add_argument("--until", type=_instant, help=_("reads at or before this instant"))
    audit.add_argument("--ledger", help=_("the ledger's base URL (default: CASELINE_LEDGER_URL)"))
    audit.add_argument("--token", help=_("an auditor's bearer token (or CASELINE_AUDIT_TOKEN)"))
    audit.add_argument(
        "--purpose", help=_("why you ask (Caseline-Purpose; required in production)")
    )
    audit.add_argument("--json", action="store_true", help=_("print the ledger's answer as JSON"))
    audit.set_defaults(func=_cmd)

    role = sub.add_parser("ledger-role", help=_("create the ledger's insert-and-read-only role"))
    role.add_argument("--role", default="caseline_ledger")
    role.add_argument("--password-env", help=_("environment variable holding its password"))
    role.set_defaults(func=_cmd)
