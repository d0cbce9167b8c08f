"""`caseline nats-config`: the NATS users of every agency and service, from the visibility table.

Each agency kind gets a user that may subscribe to exactly the subjects of the event types its
roles may see (SPEC §8, `shared.permissions.VISIBLE_TYPES`) and may publish nothing; each service
gets a user that publishes only its own events and dead letters. Passwords are `$VARIABLES` that
nats-server reads from its environment: no secret is ever written into the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from shared.events import EVENT_TYPES
from shared.events.registry import DEADLETTER_PREFIX, SERVICES
from shared.permissions import ALL, ROLES, VISIBLE_TYPES

__all__ = [
    "AGENCIES",
    "DEFAULT_PATH",
    "NatsUser",
    "password_variable",
    "render",
    "subscribe_subjects",
    "users",
    "write",
]

DEFAULT_PATH = Path("deploy/nats/agencies.conf")

AGENCIES: dict[str, tuple[str, ...]] = {
    "police": ("police",),
    "court": ("judge", "prosecutor"),
    "prison": ("prison_registry", "prison_director"),
    "assessment": ("assessor",),
    "social": ("social_worker",),
    "civil_society": ("civil_society",),
    "religious": ("religious_counsellor",),
    "audit": ("auditor",),
}
"""Agency kind → the roles whose people work there. `admin` has no agency: operators use `ops`."""

OPS_USER = "ops"
_JETSTREAM_API = ("$JS.API.>", "$JS.ACK.>")


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


def _visible_types(roles: Iterable[str]) -> set[str] | None:
    """The union of the roles' visible event types; None when one of them sees everything."""
    out: set[str] = set()
    for role in roles:
        visible = VISIBLE_TYPES.get(role, frozenset())
        if visible == ALL:
            return None
        out |= set(visible)
    return out


def subscribe_subjects(roles: Iterable[str]) -> tuple[str, ...]:
    """The narrowest subjects covering the roles' visible types: `caseline.<svc>.>` when every
    event type of a service is visible, else one `caseline.<svc>.<EventName>.*` per type."""
    visible = _visible_types(roles)
    if visible is None:
        return ("caseline.>",)
    subjects: list[str] = []
    for service in SERVICES:
        models = [m for m in EVENT_TYPES if m.service == service]
        seen = sorted({m.event_name for m in models if m.type_name() in visible})
        if not seen:
            continue
        if len(seen) == len({m.event_name for m in models}):
            subjects.append(f"caseline.{service}.>")
        else:
            subjects += [f"caseline.{service}.{name}.*" for name in seen]
    return tuple(subjects)


def users() -> list[NatsUser]:
    """Every user of the generated file: agencies, then services, then the operators'."""
    out = [
        NatsUser(
            name=agency,
            comment=f"agency {agency}: roles {', '.join(roles)}; reads only, publishes nothing",
            publish=(),
            subscribe=subscribe_subjects(roles),
        )
        for agency, roles in AGENCIES.items()
    ]
    for service in SERVICES:
        own = () if service == "ledger" else (f"caseline.{service}.>",)
        out.append(
            NatsUser(
                name=f"svc-{service}",
                comment=f"service {service}: its own events, dead letters, the JetStream API",
                publish=(*own, f"{DEADLETTER_PREFIX}>", *_JETSTREAM_API),
                subscribe=("_INBOX.>",),
            )
        )
    out.append(
        NatsUser(
            name=OPS_USER,
            comment="operators: backups, stream and consumer administration (nats CLI)",
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


def render() -> str:
    """The text of `deploy/nats/agencies.conf`."""
    unassigned = sorted(ROLES - {r for roles in AGENCIES.values() for r in roles} - {"admin"})
    if unassigned:  # pragma: no cover - a permissions editing mistake
        raise ValueError(f"roles with no agency: {unassigned}")
    lines = [
        "# Generated by `caseline nats-config` from shared/permissions.py: do not edit by hand.",
        "# Each password is an environment variable of the nats-server process (see .env.example).",
        "# Agencies subscribe with core NATS to the subjects of the event types they may see;",
        "# they get no _INBOX and no JetStream API, so cannot read other subscribers' replies.",
        "authorization {",
        "  users = [",
    ]
    for user in users():
        lines += _entry(user)
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def write(path: Path = DEFAULT_PATH) -> bool:
    """Write the file; True when its content changed."""
    text = render()
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True
