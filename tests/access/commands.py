"""Every command route with the state it needs: `attempt(world, service, route, role)` builds a
fresh state where the command succeeds for `role` (an allowed one), ready to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from shared.permissions import COMMAND_ROLES
from tests.access.care import ASSESSMENT, ASSESSMENT_VOIDS, PROGRAMMES, PROGRAMMES_VOIDS
from tests.access.legal import INTAKE, INTAKE_VOIDS, JUDICIAL, JUDICIAL_VOIDS
from tests.access.routes import COMMAND_ROUTES, event_type
from tests.access.world import Attempt, Entry, World

__all__ = [
    "PREPARERS",
    "RULE_REFUSED",
    "VOIDS",
    "VOID_ROUTE",
    "allowed",
    "attempt",
    "coverage_gaps",
    "refusal_attempt",
    "void_of",
]

VOID_ROUTE = "/entries/{event_id}/void"

PREPARERS: dict[str, dict[str, Callable[[World, str], Attempt]]] = {
    "intake": INTAKE,
    "judicial": JUDICIAL,
    "assessment": ASSESSMENT,
    "programmes": PROGRAMMES,
}
"""Service → command route (all but voiding) → how to build the state it needs."""

VOIDS: dict[str, dict[str, tuple[str, Callable[[World], Entry]]]] = {
    "intake": INTAKE_VOIDS,
    "judicial": JUDICIAL_VOIDS,
    "assessment": ASSESSMENT_VOIDS,
    "programmes": PROGRAMMES_VOIDS,
}
"""Service → voiding role → the entry type it voids here, and how to record one."""

NOTHING_VOIDABLE = frozenset({("assessment", "admin"), ("intake", "admin")})
"""(service, role) the table lets void, though every entry the role may record stands: admin
publishes instruments (immutable) and erases personal data (final). The role check lets such a
voiding through and a rule of the service refuses it (`RULE_REFUSED`)."""

RULE_REFUSED = 0
"""`Attempt.expect` of a command the role may send but the service's rules refuse (4xx, not 403)."""


def allowed(service: str, route: str) -> list[str]:
    """The roles the permission table lets record what the route records, in a fixed order."""
    return sorted(COMMAND_ROLES[event_type(service, route)])


def void_of(world: World, service: str, entry: Entry) -> Attempt:
    body = {"reason": "Recorded on the wrong case"}
    path = f"/entries/{entry.event_id}/void"
    return Attempt(service, path, body, entry.probe, agency=entry.agency)


def attempt(world: World, service: str, route: str, role: str) -> Attempt:
    """A fresh state where `role` (one the table allows) may run the route's command."""
    if route != VOID_ROUTE:
        return PREPARERS[service][route](world, role)
    _, record = VOIDS[service][role]
    voiding = void_of(world, service, record(world))
    if (service, role) in NOTHING_VOIDABLE:
        return replace(voiding, expect=RULE_REFUSED)
    return voiding


def refusal_attempt(world: World, service: str, route: str) -> Attempt:
    """One state per route for the roles the table refuses (a refusal records nothing, so they
    share it): prepared for the first allowed role whose command would succeed there."""
    key = ("refusal", service, route)
    if key not in world.shared:
        succeeds = [r for r in allowed(service, route) if (service, r) not in NOTHING_VOIDABLE]
        role = succeeds[0] if route == VOID_ROUTE else allowed(service, route)[0]
        world.shared[key] = attempt(world, service, route, role)
    return world.shared[key]  # type: ignore[no-any-return]


def coverage_gaps() -> list[tuple[str, str]]:
    """Command routes (or voiding roles) the matrix has no state for."""
    gaps = []
    for service, routes in COMMAND_ROUTES.items():
        for route in routes:
            if route == VOID_ROUTE:
                gaps += [
                    (service, f"void by {r}")
                    for r in allowed(service, route)
                    if r not in VOIDS[service]
                ]
            elif route not in PREPARERS[service]:
                gaps.append((service, route))
    return gaps
