"""The `caseline` command line for operators and auditors (SPEC §7, §9)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

__all__ = ["main"]


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
            print(f"caseline up: {exc}", file=sys.stderr)
            return 1
        print("\nCaseline is up:")
        for name, url in stack.urls.items():
            print(f"  {name:<11} {url}   (docs: {url}/docs)")
        token = mint_token(
            Settings(), sub="dev-admin", agency="caseline", role="auditor", ttl_minutes=480
        )
        print(f"\nAn auditor token (8 h): {token}")
        print("Mint others with: caseline token --sub ID --agency AGENCY --role ROLE\n")
        if args.demo:
            from caseline.demo import run_demo

            run_demo(stack.urls, Settings())
        if args.exit_after_demo:
            return 0
        print("Ctrl-C stops everything.", flush=True)
        while not stopping.wait(0.5):
            pass
        return 0
    finally:
        print("stopping…", flush=True)
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
    print("wrote the JSON Schemas and deploy/asyncapi.yaml")
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
        print(f"agency {args.agency} is not in {args.agencies}", file=sys.stderr)
        return 2
    text = render_agency_asyncapi(agencies[args.agency])
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="caseline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="start PostgreSQL, NATS and the five services")
    up.add_argument("--var", default="var", help="where embedded servers keep their data")
    up.add_argument(
        "--base-port", type=int, default=None, help="ports base+1 … base+5 (default 8000)"
    )
    up.add_argument("--demo", action="store_true", help="record a demo case once up")
    up.add_argument("--exit-after-demo", action="store_true", help=argparse.SUPPRESS)
    up.set_defaults(func=_cmd_up)

    token = sub.add_parser("token", help="print a signed development token")
    token.add_argument("--sub", required=True)
    token.add_argument("--agency", required=True)
    token.add_argument("--role", required=True)
    token.add_argument("--ttl", type=float, default=60, help="minutes")
    token.add_argument(
        "--facility", help="the facility of a prison officer (the token's `facility` claim)"
    )
    token.set_defaults(func=_cmd_token)

    asyncapi = sub.add_parser(
        "asyncapi", help="regenerate the JSON Schemas and the AsyncAPI document"
    )
    asyncapi.add_argument("--root", default=".")
    asyncapi.add_argument(
        "--agency", help="instead: print what this registered agency receives (its document)"
    )
    asyncapi.add_argument("--agencies", default="deploy/agencies.yaml", help="the registry")
    asyncapi.add_argument("--output", help="with --agency: write here instead of printing")
    asyncapi.set_defaults(func=_cmd_asyncapi)

    demo = sub.add_parser("demo", help="record a realistic synthetic case through the public APIs")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--base-port", type=int, default=8000)
    demo.set_defaults(func=_cmd_demo)

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


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    sys.exit(args.func(args))
