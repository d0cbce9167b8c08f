"""The operators' commands: `nats-config` (deploy/nats/agencies.conf), `nats-stream` (the stream,
made as the `ops` NATS user before the services start) and `env-file` (.env)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shared.kit.i18n import translate as _

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
            sys.stderr.write(_("{path} is stale: run `caseline nats-config`", path=path) + "\n")
            return 1
        sys.stdout.write(_("{path} is up to date", path=path) + "\n")
        return 0
    changed = write(path, registry)
    done = _("wrote {path}", path=path) if changed else _("unchanged: {path}", path=path)
    sys.stdout.write(done + "\n")
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
        sys.stderr.write(
            _("the stream could not be made: is CASELINE_NATS_URL the ops user's?") + "\n"
        )
        return 1
    sys.stdout.write(_("the stream is in place") + "\n")
    return 0


def _env_file(args: argparse.Namespace) -> int:
    from caseline.envfile import example_path, fill

    source = Path(args.source) if args.source else example_path()
    try:
        text = source.read_text()
    except OSError as exc:
        sys.stderr.write(
            _("cannot read {source}: {error}", source=source, error=exc.strerror) + "\n"
        )
        return 1
    sys.stdout.write(fill(text))
    return 0


def add_parsers(sub: Any) -> None:
    """Register the operators' commands on `caseline`'s subcommand parser."""
    nats = sub.add_parser(
        "nats-config", help=_("write the NATS users of the registered agencies and the services")
    )
    nats.add_argument("--output", default="deploy/nats/agencies.conf")
    nats.add_argument("--agencies", default="deploy/agencies.yaml", help=_("the agency registry"))
    nats.add_argument("--check", action="store_true", help=_("exit 1 if the file is stale"))
    nats.set_defaults(func=_nats_config)

    stream = sub.add_parser(
        "nats-stream",
        help=_("create (or scale up) the stream, as the ops user of CASELINE_NATS_URL"),
    )
    stream.add_argument("--timeout", type=float, default=60.0, help=_("seconds to keep trying"))
    stream.set_defaults(func=_nats_stream)

    env = sub.add_parser(
        "env-file", help=_("print .env.example with fresh random secrets filled in")
    )
    env.add_argument(
        "--source",
        help=_("the example file (default: ./.env.example, else the one shipped with Caseline)"),
    )
    env.set_defaults(func=_env_file)
