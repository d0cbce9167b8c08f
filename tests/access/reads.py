"""What every read route should answer each role, from the permission table, for a case of each
kind (`tests.access.records.KINDS`), and the ids a read route names for each kind.
"""

from __future__ import annotations

import uuid
from typing import Any

from shared.permissions import CASE_SCOPE, SEALED_CASE_READERS, SERVICE_READERS
from tests.access.care import instrument
from tests.access.records import READ_AGENCY, records_of
from tests.access.routes import NARROWED_READERS, PARTY_READERS
from tests.access.world import World

__all__ = [
    "ANSWERS_ANY_ID",
    "READ_AGENCY",
    "audited_outcome",
    "expected_read",
    "guard_outcome",
    "narrowed_readers",
    "read_ids",
    "required_query",
]

ANSWERS_ANY_ID = frozenset({("ledger", "/audit/cases/{case_id}")})
"""Routes about a case id that answer for any id, known or not (the reads of a case: none)."""

_UNKNOWN_SIZE = str(2**40)


def narrowed_readers(service: str, route: str) -> frozenset[str] | None:
    """The roles a route allows when it allows fewer than its service's readers: the read
    audit's routes (auditors only, whatever they are called), and the table's others."""
    if route == "/audit" or route.startswith("/audit/"):
        return frozenset({"auditor"})
    return NARROWED_READERS.get((service, route))


def guard_outcome(service: str, route: str, role: str, kind: str = "own") -> str:
    """What the read guard decides from the table: `allowed`, `refused:403` or `refused:404`.

    The guard looks at the case a path names: a sealed one exists only for its readers, and for
    a role scoped to the cases linked to its agency, facility or organisation (`CASE_SCOPE`), a
    case linked to others, or to nobody, does not exist either."""
    if role not in SERVICE_READERS[service]:
        return "refused:403"
    if "{case_id}" not in route:
        return "allowed"
    if kind == "sealed" and role not in SEALED_CASE_READERS:
        return "refused:404"
    if kind in ("other", "unknown") and role in CASE_SCOPE:
        return "refused:404"
    return "allowed"


def expected_read(service: str, route: str, role: str, kind: str = "own") -> int:
    """The status a read should get: the guard's decision, then the route's own narrowing (by
    role, then by party to the thing read), then whether what it names exists."""
    outcome = guard_outcome(service, route, role, kind)
    if outcome != "allowed":
        return int(outcome.split(":")[1])
    readers = narrowed_readers(service, route)
    if readers is not None and role not in readers:
        return 403
    if kind == "unknown" and "{" in route and (service, route) not in ANSWERS_ANY_ID:
        return 404
    parties = PARTY_READERS.get((service, route))
    if kind == "other" and parties is not None and role not in parties:
        return 404
    return 200


def audited_outcome(status: int) -> str:
    """How the read audit records a read that got `status`."""
    return "allowed" if status < 400 else f"refused:{status}"


def read_ids(world: World, kind: str) -> dict[str, str]:
    """The ids the read routes name, for a case of `kind` (every id unknown for `unknown`)."""
    record = records_of(world).of(kind)
    if record is None:
        key = ("unknown-ids",)
        if key not in world.shared:
            names = ("case_id", "assessment_id", "referral_id", "programme_id", "instrument_id")
            world.shared[key] = {n: str(uuid.uuid4()) for n in names}
        return {**world.shared[key], "version": "1", "size": _UNKNOWN_SIZE}
    return {
        "case_id": record.case_id,
        "assessment_id": record.assessment_id,
        "referral_id": record.referral_id,
        "programme_id": record.programme_id,
        "instrument_id": instrument(world),
        "version": "1",
        "size": str(_checkpoint_size(world)),
    }


REQUIRED_QUERIES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("ledger", "/proofs/inclusion"): (("ledger_seq", "1"), ("tree_size", "size")),
    ("ledger", "/proofs/consistency"): (("first", "1"), ("second", "size")),
    ("intake", "/persons"): (("name", "Amadou Traoré"),),
}
"""Reads that need a query: parameter → a number, a text, or `size` (a signed checkpoint's)."""


def required_query(world: World, service: str, route: str) -> dict[str, str]:
    """The query a read route needs to answer (none for most)."""
    wanted = REQUIRED_QUERIES.get((service, route), ())
    size = str(_checkpoint_size(world)) if wanted else ""
    return {name: size if value == "size" else value for name, value in wanted}


def _checkpoint_size(world: World) -> Any:
    """The size of a signed checkpoint of the ledger (one is signed soon after entries)."""
    if "checkpoint" not in world.shared:
        latest = world.until(lambda: _latest(world))
        world.shared["checkpoint"] = int(latest["ledger_size"])
    return world.shared["checkpoint"]


def _latest(world: World) -> dict[str, Any] | None:
    response = world.get("ledger", "/checkpoints/latest", "auditor", sub="probe")
    return dict(response.json()) if response.status_code == 200 else None
