"""The operators' commands: `nats-config` (deploy/nats/agencies.conf) and `env-file` (.env)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers"]


def _nats_config(args: argparse.Namespace) -> int:
    from caseline.natsconf import render, write

    path = Path(args.output)
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != render():
            sys.stderr.write(f"{path} is stale: run `caseline nats-config`\n")
            return 1
        sys.stdout.write(f"{path} is up to date\n")
        return 0
    changed = write(path)
    sys.stdout.write(f"{'wrote' if changed else 'unchanged:'} {path}\n")
    return 0


def _env_file(args: argparse.Namespace) -> int:
    from caseline.envfile import fill

    sys.stdout.write(fill(Path(args.source).read_text()))
    return 0


def add_parsers(sub: Any) -> None:
    """Register the operators' commands on `caseline`'s subcommand parser."""
    nats = sub.add_parser(
        "nats-config", help="write the per-agency NATS users from the visibility table"
    )
    nats.add_argument("--output", default="deploy/nats/agencies.conf")
    nats.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    nats.set_defaults(func=_nats_config)

    env = sub.add_parser("env-file", help="print .env.example with fresh random secrets filled in")
    env.add_argument("--source", default=".env.example")
    env.set_defaults(func=_env_file)
