"""The operators' commands: `nats-config` (deploy/nats/agencies.conf), `nats-stream` (the stream,
made as the `ops` NATS user before the services start) and `env-file` (.env)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_parsers"]


def _nats_config(args: argparse.Namespace) -> int:
    from caseline.natsconf import render, write
    from shared.agencies import AgencyRegistryError, load_agencies

    path, registry = Path(args.output), Path(args.agencies)
    try:
        text = render(load_agencies(registry))
    except AgencyRegistryError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    if args.check:
        current = path.read_text() if path.exists() else ""
        if current != text:
            sys.stderr.write(f"{path} is stale: run `caseline nats-config`\n")
            return 1
        sys.stdout.write(f"{path} is up to date\n")
        return 0
    changed = write(path, registry)
    sys.stdout.write(f"{'wrote' if changed else 'unchanged:'} {path}\n")
    return 0


def _nats_stream(args: argparse.Namespace) -> int:
    import asyncio

    from shared.kit.bus import Bus
    from shared.kit.settings import Settings

    async def make() -> None:
        # The kit's own `ensure_stream`, run once by the one user allowed to create the stream.
        bus = Bus(Settings(), "nats-stream")
        bus.start()
        try:
            await asyncio.wait_for(bus.jetstream(), timeout=args.timeout)
        finally:
            await bus.close()

    try:
        asyncio.run(make())
    except TimeoutError:
        sys.stderr.write("the stream could not be made: is CASELINE_NATS_URL the ops user's?\n")
        return 1
    sys.stdout.write("the stream is in place\n")
    return 0


def _env_file(args: argparse.Namespace) -> int:
    from caseline.envfile import example_path, fill

    source = Path(args.source) if args.source else example_path()
    try:
        text = source.read_text()
    except OSError as exc:
        sys.stderr.write(f"cannot read {source}: {exc.strerror}\n")
        return 1
    sys.stdout.write(fill(text))
    return 0


def add_parsers(sub: Any) -> None:
    """Register the operators' commands on `caseline`'s subcommand parser."""
    nats = sub.add_parser(
        "nats-config", help="write the NATS users of the registered agencies and the services"
    )
    nats.add_argument("--output", default="deploy/nats/agencies.conf")
    nats.add_argument("--agencies", default="deploy/agencies.yaml", help="the agency registry")
    nats.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    nats.set_defaults(func=_nats_config)

    stream = sub.add_parser(
        "nats-stream", help="create (or scale up) the stream, as the ops user of CASELINE_NATS_URL"
    )
    stream.add_argument("--timeout", type=float, default=60.0, help="seconds to keep trying")
    stream.set_defaults(func=_nats_stream)

    env = sub.add_parser("env-file", help="print .env.example with fresh random secrets filled in")
    env.add_argument(
        "--source",
        help="the example file (default: ./.env.example, else the one shipped with Caseline)",
    )
    env.set_defaults(func=_env_file)
