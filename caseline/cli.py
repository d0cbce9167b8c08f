"""The `caseline` command line for operators and auditors (SPEC §7, §9)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from shared.kit.i18n import LANGUAGES, N_, cli_language, use_language
from shared.kit.i18n import translate as _

__all__ = ["main", "translate_argparse"]


def _cmd_up(args: argparse.Namespace) -> int:
    from caseline.stack import PortTakenError, Stack
    from shared.kit.auth import mint_token
    from shared.kit.settings import Settings

    stack = Stack(var_dir=Path(args.var).resolve(), base_port=args.base_port)
    stopping = threading.Event()

    def _stop(*_: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        try:
            stack.start()
        except PortTakenError as exc:
            print(_("caseline up: {error}", error=exc), file=sys.stderr)
            return 1
        print("\n" + _("Caseline is up:"))
        for name, url in stack.urls.items():
            print(f"  {name:<11} {url}   " + _("(docs: {url}/docs)", url=url))
        token = mint_token(
            Settings(), sub="dev-admin", agency="caseline", role="auditor", ttl_minutes=480
        )
        print("\n" + _("An auditor token (8 h): {token}", token=token))
        print(_("Mint others with: caseline token --sub ID --agency AGENCY --role ROLE") + "\n")
        if args.demo:
            from caseline.demo import run_demo

            run_demo(stack.urls, Settings())
        if args.exit_after_demo:
            return 0
        print(_("Ctrl-C stops everything."), flush=True)
        while not stopping.wait(0.5):
            pass
        return 0
    finally:
        print(_("stopping…"), flush=True)
        stack.stop()


def _cmd_token(args: argparse.Namespace) -> int:
    from shared.kit.auth import mint_token
    from shared.kit.settings import Settings

    print(
        mint_token(
            Settings(),
            sub=args.sub,
            agency=args.agency,
            role=args.role,
            ttl_minutes=args.ttl,
            facility=args.facility,
        )
    )
    return 0


def _cmd_asyncapi(args: argparse.Namespace) -> int:
    from shared.events.generate import write_all

    if args.agency:
        return _agency_asyncapi(args)

    write_all(Path(args.root).resolve())
    print(_("wrote the JSON Schemas and deploy/asyncapi.yaml"))
    return 0


def _agency_asyncapi(args: argparse.Namespace) -> int:
    from caseline.agency_asyncapi import render_agency_asyncapi
    from shared.agencies import AgencyRegistryError, load_agencies

    try:
        agencies = {a.id: a for a in load_agencies(Path(args.agencies))}
    except AgencyRegistryError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.agency not in agencies:
        print(
            _("agency {agency} is not in {registry}", agency=args.agency, registry=args.agencies),
            file=sys.stderr,
        )
        return 2
    text = render_agency_asyncapi(agencies[args.agency])
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_i18n_extract(args: argparse.Namespace) -> int:
    from shared.kit.i18n import LANGUAGES, catalogue
    from shared.kit.i18n_extract import update_catalogues

    found = update_catalogues(Path(args.root).resolve())
    catalogue.cache_clear()
    print(_("{count} messages in shared/locale/caseline.pot", count=len(found.messages)))
    for language in LANGUAGES[1:]:
        missing = [key for key in found.messages if key not in catalogue(language)]
        print(
            _(
                "{language}: {missing} to translate in shared/locale/{language}/LC_MESSAGES/caseline.po",
                language=language,
                missing=len(missing),
            )
        )
    for where in found.formatted:
        print(_("{where}: an f-string cannot be translated; use named placeholders", where=where))
    return 1 if found.formatted else 0


def service_urls(host: str, base_port: int) -> dict[str, str]:
    """The five services' URLs on `host`, at their default ports shifted to `base_port`."""
    from shared.kit.runtime import DEFAULT_PORTS

    return {
        name: f"http://{host}:{base_port + port - 8000}" for name, port in DEFAULT_PORTS.items()
    }


def _cmd_demo(args: argparse.Namespace) -> int:
    from caseline.demo import run_demo
    from shared.kit.settings import Settings

    run_demo(service_urls(args.host, args.base_port), Settings())
    return 0


# argparse's own words (its usage line, its errors), in the CLI's language.
_ARGPARSE = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("unrecognized arguments: %s"),
    N_("expected one argument"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid %(type)s value: %(value)r"),
)


def translate_argparse() -> None:
    """argparse speaks the CLI's language (it looks its words up through its module's `_`)."""
    argparse._ = _argparse_words  # type: ignore[attr-defined]


def _argparse_words(message: str) -> str:
    return _(message)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caseline", description=_("The `caseline` command line for operators and auditors.")
    )
    parser.add_argument(
        "--lang",
        choices=LANGUAGES,
        help=_("the language of what it prints: fr, ar or en (default: CASELINE_LANG, LANG)"),
    )
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help=_("start PostgreSQL, NATS and the five services"))
    up.add_argument("--var", default="var", help=_("where embedded servers keep their data"))
    up.add_argument(
        "--base-port", type=int, default=None, help=_("ports base+1 … base+5 (default 8000)")
    )
    up.add_argument("--demo", action="store_true", help=_("record a demo case once up"))
    up.add_argument("--exit-after-demo", action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(func=_cmd_up)

    token = sub.add_parser("token", help=_("print a signed development token"))
    token.add_argument("--sub", required=True)
    token.add_argument("--agency", required=True)
    token.add_argument("--role", required=True)
    token.add_argument("--ttl", type=float, default=60, help=_("minutes"))
    token.add_argument(
        "--facility", help=_("the facility of a prison officer (the token's `facility` claim)")
    )
    token.set_defaults(func=_cmd_token)

    asyncapi = sub.add_parser(
        "asyncapi", help=_("regenerate the JSON Schemas and the AsyncAPI document")
    )
    asyncapi.add_argument("--root", default=".")
    asyncapi.add_argument(
        "--agency", help=_("instead: print what this registered agency receives (its document)")
    )
    asyncapi.add_argument("--agencies", default="deploy/agencies.yaml", help=_("the registry"))
    asyncapi.add_argument("--output", help=_("with --agency: write here instead of printing"))
    asyncapi.set_defaults(func=_cmd_asyncapi)

    demo = sub.add_parser(
        "demo", help=_("record a realistic synthetic case through the public APIs")
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--base-port", type=int, default=8000)
    demo.set_defaults(func=_cmd_demo)

    i18n = sub.add_parser(
        "i18n-extract",
        help=_(
            "extract the messages people read; add the new ones to the French and Arabic catalogues"
        ),
    )
    i18n.add_argument("--root", default=".")
    i18n.set_defaults(func=_cmd_i18n_extract)

    from caseline.reconcile import add_parser as add_reconcile

    add_reconcile(sub)

    from caseline.audit import add_parsers as add_audit

    add_audit(sub)

    from caseline.timeline import add_parser as add_timeline

    add_timeline(sub)

    from caseline.stats import add_parser as add_stats

    add_stats(sub)

    from caseline.operations import add_parsers as add_operations

    add_operations(sub)

    from caseline.keys import add_parser as add_keys

    add_keys(sub)

    from caseline.migrate import add_parser as add_migrate

    add_migrate(sub)

    from caseline.agencies import add_parser as add_agencies

    add_agencies(sub)

    from caseline.client_models import add_parser as add_client_models

    add_client_models(sub)
    return parser


def _language_flag(argv: list[str]) -> tuple[list[str], str | None]:
    """`--lang X` or `--lang=X` wherever it stands (before or after the command), taken out of
    the arguments: the help itself is printed in that language."""
    rest, language = [], None
    args = iter(argv)
    for arg in args:
        if arg == "--lang":
            language = next(args, None)
        elif arg.startswith("--lang="):
            language = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    return rest, language


def main(argv: list[str] | None = None) -> None:
    argv, flag = _language_flag(sys.argv[1:] if argv is None else argv)
    with use_language(cli_language(flag)):
        translate_argparse()
        args = build_parser().parse_args(argv)
        sys.exit(args.func(args))
