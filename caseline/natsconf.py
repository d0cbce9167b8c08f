"""`caseline nats-config`: one NATS user per registered agency and per service, least privilege.

Each agency of the registry (`deploy/agencies.yaml`, `shared.agencies`) may only pull from its own
durable consumer of the deliveries' stream (`agency-<id>` on `CASELINE_DELIVERIES`, which the
ledger makes and fills with what that agency may see, SPEC §8), read that consumer's info, ack its
messages and receive the replies on its own inbox: it creates, deletes or binds no other consumer,
reads no stream and publishes nothing else. Each service may publish only its own events and its consumers' dead
letters, call the JetStream API only to read and pull from its own durable consumers (which `ops`
makes, with their filters, by `caseline nats-stream`), ack only their messages, and receive replies
only on its own inbox prefix (`_INBOX.<user>`, set by the kit's `Bus`). The ledger alone makes the
deliveries' stream and the agencies' consumers, and hears the server's advisories of parked
deliveries. The events' stream and its consumers belong to `ops` alone. Passwords are
`$VARIABLES` that nats-server reads from its environment: no secret is ever written into the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.agencies import DELIVERY_PREFIX, DELIVERY_STREAM_SUFFIX, Agency, load_agencies
from shared.events.registry import DEADLETTER_PREFIX, SERVICES, STREAM
from shared.kit.bus import inbox_prefix

__all__ = [
    "CONSUMERS",
    "DEFAULT_PATH",
    "DEFAULT_REGISTRY",
    "OPS_USER",
    "NatsUser",
    "password_variable",
    "render",
    "service_user",
    "users",
    "write",
]

DEFAULT_PATH = Path("deploy/nats/agencies.conf")
DEFAULT_REGISTRY = Path("deploy/agencies.yaml")

OPS_USER = "ops"
DELIVERY_STREAM = STREAM + DELIVERY_STREAM_SUFFIX

CONSUMERS: dict[str, tuple[str, ...]] = {
    "intake": ("intake-release-orders", "intake-access"),
    "judicial": ("judicial-intake-record", "judicial-access"),
    "assessment": ("assessment-intake", "assessment-access"),
    "programmes": ("programmes-case-facts", "programmes-access"),
    "ledger": ("ledger",),
}
"""Service → the durable consumers it makes (`<service>-<reaction>`, the ledger's `ledger`).
A NATS wildcard matches whole tokens only, so each is named: a new reaction is added here."""


@dataclass(frozen=True)
class NatsUser:
    """One `users` entry: its name, what it is for, and its publish/subscribe allow lists."""

    name: str
    comment: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    @property
    def password_variable(self) -> str:
        return password_variable(self.name)


def password_variable(user: str) -> str:
    """The environment variable holding a user's password, e.g. `NATS_PASSWORD_SVC_INTAKE`."""
    return "NATS_PASSWORD_" + user.upper().replace("-", "_")


def service_user(service: str) -> str:
    return f"svc-{service}"


def _consumer_rights(durable: str) -> tuple[str, ...]:
    """What running one's own durable pull consumer takes, as nats-py 2.16 asks for it: read its
    info, pull from it, ack its messages, dead-letter. Not create or update it: a consumer's
    filter is part of its configuration, and a service that could set it could point its own
    consumer at every subject of the stream (every service's events, every dead letter); `ops`
    makes the consumers, each with its service's filter (`caseline nats-stream`)."""
    api = f"$JS.API.CONSUMER.{{}}.{STREAM}.{durable}"
    return (
        api.format("INFO"),
        api.format("MSG.NEXT"),
        f"$JS.ACK.{STREAM}.{durable}.>",
        f"{DEADLETTER_PREFIX}{durable}",
    )


def _delivery_rights(agencies: Sequence[Agency]) -> tuple[str, ...]:
    """The ledger's: make and read the deliveries' stream and each agency's consumer, and purge
    an agency's messages of a case it may no longer see (`services.ledger.deliveries`)."""
    api = "$JS.API.{}." + DELIVERY_STREAM
    verbs = ("STREAM.CREATE", "STREAM.INFO", "STREAM.MSG.GET", "STREAM.PURGE")
    stream = tuple(api.format(v) for v in verbs)
    consumers = tuple(
        f"{api.format(verb)}.{agency.durable}"
        for agency in agencies
        for verb in ("CONSUMER.DURABLE.CREATE", "CONSUMER.INFO")
    )
    return (*stream, *consumers)


def _service(service: str, agencies: Sequence[Agency]) -> NatsUser:
    # The ledger records; it publishes no event of its own, only the agencies' deliveries.
    own = (f"{DELIVERY_PREFIX}>",) if service == "ledger" else (f"caseline.{service}.>",)
    rights = [right for durable in CONSUMERS[service] for right in _consumer_rights(durable)]
    if service == "ledger":
        rights += _delivery_rights(agencies)
    user = service_user(service)
    advisories = (
        (f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{DELIVERY_STREAM}.*",)
        if service == "ledger"
        else ()
    )
    return NatsUser(
        name=user,
        comment=f"service {service}: its own subjects and consumers, replies on its own inbox",
        # No stream info either: with a subject filter, it lists every subject of the stream
        # (every case's id and event types).
        publish=(*own, *rights),
        subscribe=(f"{inbox_prefix(user)}.>", *advisories),
    )


def _agency(agency: Agency) -> NatsUser:
    consumer = f"{DELIVERY_STREAM}.{agency.durable}"
    return NatsUser(
        name=agency.nats_user,
        comment=f"agency {agency.id} ({agency.role}): pulls its own consumer's deliveries only",
        publish=(
            f"$JS.API.CONSUMER.INFO.{consumer}",
            f"$JS.API.CONSUMER.MSG.NEXT.{consumer}",
            f"$JS.ACK.{consumer}.>",
        ),
        subscribe=(f"{inbox_prefix(agency.nats_user)}.>",),
    )


def users(agencies: Sequence[Agency]) -> list[NatsUser]:
    """Every user of the generated file: agencies, then services, then the operators'."""
    out = [_agency(a) for a in agencies]
    out += [_service(s, agencies) for s in SERVICES]
    out.append(
        NatsUser(
            name=OPS_USER,
            comment="operators: the stream and its consumers (`caseline nats-stream`), administration",
            publish=(">",),
            subscribe=(">",),
        )
    )
    return out


def _rule(kind: str, verb: str, subjects: tuple[str, ...]) -> list[str]:
    """`publish: { allow: [...] }`, one subject a line past the first."""
    if len(subjects) <= 1:
        return [f'        {kind}: {{ {verb}: ["{subjects[0]}"] }}']
    items = [f'          "{s}",' for s in subjects]
    return [f"        {kind}: {{ {verb}: [", *items, "        ] }"]


def _entry(user: NatsUser) -> list[str]:
    publish = (
        _rule("publish", "allow", user.publish)
        if user.publish
        else _rule("publish", "deny", (">",))
    )
    return [
        f"    # {user.comment}",
        "    {",
        f'      user: "{user.name}"',
        f"      password: ${user.password_variable}",
        "      permissions: {",
        *publish,
        *_rule("subscribe", "allow", user.subscribe),
        "      }",
        "    }",
    ]


def render(agencies: Sequence[Agency]) -> str:
    """The text of `deploy/nats/agencies.conf` for the registered agencies."""
    lines = [
        "# Generated by `caseline nats-config` from deploy/agencies.yaml: do not edit by hand.",
        "# Each password is an environment variable of the nats-server process (see .env.example).",
        "# An agency pulls only its own consumer of CASELINE_DELIVERIES (filled by the ledger with",
        "# what it may see); services hold only their own subjects, consumers and inbox; the",
        "# ledger makes the deliveries' stream and consumers; `ops` makes the events' stream and",
        "# the services' consumers (`caseline nats-stream`), which no service may re-point.",
        "authorization {",
        "  users = [",
    ]
    for user in users(agencies):
        lines += _entry(user)
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def write(path: Path = DEFAULT_PATH, registry: Path = DEFAULT_REGISTRY) -> bool:
    """Write the file from the registry; True when its content changed."""
    text = render(load_agencies(registry))
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
