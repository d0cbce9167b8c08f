"""The registry of agencies that receive events over NATS, each its own principal (SPEC §8).

The file (`deploy/agencies.yaml`, the setting `CASELINE_AGENCIES_FILE`) names each agency once:
its `id` — the `agency` claim of its people's tokens and the `agency` of what it records — the
`role` whose visibility it receives, and for a prison the `facility` (the `facility` claim).
The ledger publishes each entry an agency may see, as its `GET /events` feed would show it, on
`deliver.<id>.>` into the JetStream stream `CASELINE_DELIVERIES`, and makes for each agency one
durable pull consumer, `agency-<id>`; `caseline nats-config` makes each agency a NATS user that may
pull from that consumer and ack its messages, and nothing else (docs/agencies.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.kit.auth import User
from shared.permissions import CASE_SCOPE, ROLES

__all__ = [
    "DELIVERY_BACKOFF",
    "DELIVERY_MAX_DELIVER",
    "DELIVERY_PREFIX",
    "DELIVERY_STREAM_SUFFIX",
    "Agency",
    "AgencyRegistryError",
    "delivery_subject",
    "load_agencies",
    "parse_agencies",
]

DELIVERY_PREFIX = "deliver."
"""Deliveries go to `deliver.<agency>.<the event's subject>`: outside the stream's `caseline.>`,
so that neither the stream nor the ledger's consumer ever takes them in."""

DELIVERY_STREAM_SUFFIX = "_DELIVERIES"
"""The deliveries' stream is the events' stream's name with this suffix: `CASELINE_DELIVERIES`."""

DELIVERY_BACKOFF: tuple[float, ...] = (10.0, 30.0, 120.0, 600.0, 1800.0)
"""Seconds before each redelivery of a message an agency did not ack (or nak'd): its ack wait."""

DELIVERY_MAX_DELIVER = 6
"""Deliveries of one message before it is parked (an advisory, then `caseline agencies parked`)."""

_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_KEYS = frozenset({"id", "role", "facility"})


class AgencyRegistryError(ValueError):
    """The registry file is not a list of well-formed, distinct agencies."""


@dataclass(frozen=True)
class Agency:
    """One registered agency: who it is, what it may see, where its deliveries go."""

    id: str
    role: str
    facility: str | None = None

    @property
    def user(self) -> User:
        """The agency as a caller: the read rules of the HTTP feed apply to it unchanged."""
        return User(sub=f"agency:{self.id}", agency=self.id, role=self.role, facility=self.facility)

    @property
    def nats_user(self) -> str:
        return f"agency-{self.id}"

    @property
    def durable(self) -> str:
        """Its durable consumer on the deliveries' stream, which the ledger makes."""
        return f"agency-{self.id}"

    @property
    def subjects(self) -> str:
        """The subjects of its deliveries (its consumer's filter), nothing else."""
        return f"{DELIVERY_PREFIX}{self.id}.>"


def delivery_subject(agency: str, event_subject: str) -> str:
    """`deliver.<agency>.caseline.<service>.<EventName>.<case_id>`: the event's own subject
    behind the agency's prefix, so an agency follows a type or a case as SPEC §4 says."""
    return f"{DELIVERY_PREFIX}{agency}.{event_subject}"


def load_agencies(path: str | Path) -> tuple[Agency, ...]:
    """The agencies of a registry file (YAML: `agencies: [{id, role, facility?}, …]`)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise AgencyRegistryError(f"cannot read the agency registry {path}: {exc}") from exc
    return parse_agencies(data)


def parse_agencies(data: Any) -> tuple[Agency, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("agencies"), list):
        raise AgencyRegistryError("the registry is a mapping with a list under `agencies`")
    agencies = tuple(_agency(item) for item in data["agencies"])
    ids = [a.id for a in agencies]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise AgencyRegistryError(f"agencies registered twice: {', '.join(twice)}")
    return agencies


def _agency(item: Any) -> Agency:
    if not isinstance(item, dict) or set(item) - _KEYS or not {"id", "role"} <= set(item):
        raise AgencyRegistryError(f"an agency is {{id, role, facility?}}: {item!r}")
    agency_id, role, facility = item["id"], item["role"], item.get("facility")
    # The id becomes a subject token and a NATS user name: no dots, wildcards or spaces.
    if not isinstance(agency_id, str) or not _ID.fullmatch(agency_id):
        raise AgencyRegistryError(
            f"agency id {agency_id!r}: lowercase letters, digits and inner hyphens, ≤ 63"
        )
    if role not in ROLES or role == "admin":
        raise AgencyRegistryError(f"agency {agency_id}: {role!r} is not an agency's role")
    by_facility = CASE_SCOPE.get(role) == "facility"
    if by_facility != (facility is not None):
        need = "needs" if by_facility else "takes no"
        raise AgencyRegistryError(f"agency {agency_id}: the role {role} {need} `facility`")
    if facility is not None and not (
        isinstance(facility, str) and 0 < len(facility) <= 200 and facility.isprintable()
    ):
        raise AgencyRegistryError(f"agency {agency_id}: facility is a name of ≤ 200 characters")
    return Agency(agency_id, role, facility)
