"""An agency's consumer of Caseline: mirror its deliveries into SQLite, each event once, each proven
against a checkpoint the ledger signed with the key the agency pinned.

    python consumer.py nats    --agency ID --nats URL --ledger URL --ledger-key KEY [--db FILE]
    python consumer.py webhook --agency ID --listen HOST:PORT --ledger URL --ledger-key KEY
    python consumer.py resolve --ledger URL --db FILE --purpose TEXT EVENT_ID

Secrets come from the environment: CASELINE_TOKEN (the agency's bearer token for the ledger),
CASELINE_NATS_PASSWORD (its NATS user's), CASELINE_WEBHOOK_SECRET (its endpoint's; two,
space-separated, during a rotation). See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from mirror import Mirror

from caseline_client import (
    AgencyConsumer,
    Delivery,
    LedgerClient,
    NotYetProvenError,
    ProofError,
    Verifier,
    WebhookReceiver,
)

log = logging.getLogger("agency_consumer")


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"set {name} in the environment")
    return value


def _witnesses(items: list[str]) -> dict[str, str]:
    pairs = [item.partition("=") for item in items]
    return {name: key for name, _, key in pairs}


class Prover:
    """Proves the mirrored events against the ledger's latest checkpoint, every few seconds."""

    def __init__(self, mirror: Mirror, ledger: LedgerClient, args: argparse.Namespace) -> None:
        self.mirror = mirror
        self.every = args.prove_every
        self.verifier = Verifier(
            ledger, args.ledger_key, witnesses=_witnesses(args.witness), trusted=mirror.trusted()
        )

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except NotYetProvenError as why:
                log.info("not proven yet: %s", why)
            except ProofError as why:
                log.error("THE LEDGER'S CHECKPOINT IS REFUSED: %s", why)
            except Exception as exc:
                log.warning("proofs wait: %s", exc)
            await asyncio.sleep(self.every)

    async def step(self) -> int:
        if not self.mirror.unproven(upto=2**62, limit=1):
            return 0  # nothing to prove: no read of the ledger
        checkpoint = await self.verifier.checkpoint()
        self.mirror.trust(checkpoint)
        proven = 0
        while rows := self.mirror.unproven(checkpoint.tree_size):
            for event_id, ledger_seq, digest in rows:
                try:
                    proof = await self.verifier.verify(ledger_seq, digest, checkpoint)
                except ProofError as why:
                    log.error("ledger_seq %d REFUSED: %s", ledger_seq, why)
                    self.mirror.refuse(event_id, str(why))
                    continue
                self.mirror.proven(event_id, proof)
                proven += 1
        if proven:
            log.info("proved %d events against checkpoint %d", proven, checkpoint.tree_size)
        return proven


@contextlib.asynccontextmanager
async def proving(mirror: Mirror, args: argparse.Namespace) -> AsyncIterator[None]:
    async with LedgerClient(args.ledger, _env("CASELINE_TOKEN")) as ledger:
        task = asyncio.create_task(Prover(mirror, ledger, args).run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _record(mirror: Mirror, delivery: Delivery) -> None:
    mirror.record(delivery)
    log.info("mirrored ledger_seq %d: %s", delivery.ledger_seq, delivery.type)


async def run_nats(args: argparse.Namespace) -> None:
    mirror = Mirror(args.db)
    consumer = AgencyConsumer(
        args.nats, args.agency, lambda delivery: _record(mirror, delivery),
        password=os.environ.get("CASELINE_NATS_PASSWORD"), stream=args.stream, seen=mirror,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, consumer.stop)
    async with proving(mirror, args):
        log.info("pulling %s's deliveries into %s", args.agency, args.db)
        await consumer.run()
    mirror.close()


def run_webhook(args: argparse.Namespace) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Route

    mirror = Mirror(args.db)
    secrets = _env("CASELINE_WEBHOOK_SECRET").split()
    receiver = WebhookReceiver(
        secrets, lambda event: _record(mirror, Delivery.from_cloudevent(event)), events=mirror
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with proving(mirror, args):
            yield
        mirror.close()

    app = Starlette(routes=[Route(args.path, receiver, methods=["POST"])], lifespan=lifespan)
    host, _, port = args.listen.rpartition(":")
    log.info("receiving %s's webhooks on http://%s%s into %s", args.agency, args.listen,
             args.path, args.db)  # fmt: skip
    uvicorn.run(app, host=host or "127.0.0.1", port=int(port), log_level="warning")


async def resolve(args: argparse.Namespace) -> None:
    """Print an event's personal fields as the ledger shows them now (they are not stored)."""
    delivery = Mirror(args.db).event(args.event_id)
    if delivery is None:
        raise SystemExit(f"no event {args.event_id} in {args.db}")
    async with LedgerClient(args.ledger, _env("CASELINE_TOKEN"), purpose=args.purpose) as ledger:
        resolved = await ledger.resolve(delivery)
    answer = {"event_id": resolved.event_id, "erased": resolved.erased, "fields": resolved.fields}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False, indent=2) + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    for name in ("nats", "webhook"):
        mode = modes.add_parser(name)
        mode.add_argument("--agency", required=True, help="the agency's id, e.g. ngo-sahel-avenir")
        mode.add_argument("--ledger", required=True, help="the ledger's URL")
        mode.add_argument("--ledger-key", action="append", required=True,
                          help="the ledger's public key (base64) the agency pins; repeatable")  # fmt: skip
        mode.add_argument("--witness", action="append", default=[],
                          help="NAME=KEY of a witness whose cosignature is required")  # fmt: skip
        mode.add_argument("--db", type=Path, default=Path("deliveries.db"))
        mode.add_argument("--prove-every", type=float, default=5.0, help="seconds")
    modes.choices["nats"].add_argument("--nats", required=True, help="the NATS server's URL")
    modes.choices["nats"].add_argument("--stream", default="CASELINE_DELIVERIES")
    modes.choices["webhook"].add_argument("--listen", default="127.0.0.1:8080")
    modes.choices["webhook"].add_argument("--path", default="/caseline")
    res = modes.add_parser("resolve")
    res.add_argument("--ledger", required=True)
    res.add_argument("--db", type=Path, default=Path("deliveries.db"))
    res.add_argument("--purpose", required=True, help="why the personal fields are read")
    res.add_argument("event_id")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.mode == "nats":
        asyncio.run(run_nats(args))
    elif args.mode == "webhook":
        run_webhook(args)
    else:
        asyncio.run(resolve(args))


if __name__ == "__main__":
    main()
