"""The operators' commands: `nats-config` (deploy/nats/agencies.conf), `nats-stream` (the stream
and the services' durable consumers, made as the `ops` NATS user before the services start) and
`env-file` (.env)."""

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

    async def make() -> list[str]:
        # Run once by the one user allowed to make the stream and the services' consumers.
        settings = Settings()
        bus = Bus(settings, "nats-stream")
        bus.start()
        try:
            return await asyncio.wait_for(_provisioned(bus, settings), timeout=args.timeout)
        finally:
            await bus.close()

    try:
        made = asyncio.run(make())
    except Exception as exc:  # any refusal or timeout: the operator sees it
        sys.stderr.write(
            _("the stream could not be made: is CASELINE_NATS_URL the ops user's?") + "\n"
        )
        sys.stderr.write(f"{exc!r}\n")
        return 1
    sys.stdout.write(_("the stream is in place") + "\n")
    sys.stdout.write(
        _("the services' consumers are in place: {names}", names=", ".join(made)) + "\n"
    )
    return 0


async def _provisioned(bus: Any, settings: Any) -> list[str]:
    """`provision`, again until it succeeds: a cluster's new stream answers for its consumers
    only once its replicas have elected a leader."""
    import asyncio

    from caseline.consumers import provision

    while True:
        js = await bus.jetstream()
        try:
            return await provision(js, settings)
        except Exception as exc:  # a refusal is the operator's to see when the time is up
            sys.stderr.write(f"{exc!r}\n")
            await asyncio.sleep(1.0)


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
        help=_(
            "create (or scale up) the stream and the services' consumers, as the ops user of"
            " CASELINE_NATS_URL"
        ),
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
