"""What every read route should answer each role, from the permission table, and the records the
read matrix reads: one open case and one sealed case, each with an assessment and a referral.
"""

from __future__ import annotations

from shared.permissions import SEALED_CASE_READERS, SERVICE_READERS
from tests.access.care import instrument, programme, referral, started
from tests.access.routes import NARROWED_READERS, SERVICES
from tests.access.world import World

__all__ = ["READ_AGENCY", "expected_read", "guard_outcome", "read_ids"]

READ_AGENCY = "ONG Lecture et Avenir"
"""The agency of every reader in the read matrix: the records read are linked to it (it runs the
programme, and the referral is made to it), so agency-bound roles see what their role may."""


def guard_outcome(service: str, route: str, role: str, sealed: bool) -> str:
    """What the read guard decides from the table: `allowed`, `refused:403` or `refused:404`."""
    if role not in SERVICE_READERS[service]:
        return "refused:403"
    if sealed and "{case_id}" in route and role not in SEALED_CASE_READERS:
        return "refused:404"
    return "allowed"


def expected_read(service: str, route: str, role: str, sealed: bool) -> int:
    """The status a read should get: the guard's decision, then the route's own narrowing."""
    outcome = guard_outcome(service, route, role, sealed)
    if outcome != "allowed":
        return int(outcome.split(":")[1])
    readers = NARROWED_READERS.get((service, route))
    return 403 if readers is not None and role not in readers else 200


def read_ids(world: World, sealed: bool) -> dict[str, str]:
    """The ids the read routes name, of a case every service knows (sealed by a judge's order
    when `sealed`, and waited for until every service hides it)."""
    key = ("read", sealed)
    if key not in world.shared:
        case_id = world.fresh_case()
        ids = {
            "case_id": case_id,
            "assessment_id": started(world, case_id),
            "programme_id": programme(world, READ_AGENCY),
            "referral_id": str(referral(world, case_id, READ_AGENCY)["referral_id"]),
            "instrument_id": instrument(world),
            "version": "1",
        }
        if sealed:
            body = {"reason": "Sealed by order of the court"}
            world.recorded("judicial", f"/cases/{case_id}/seal", body, "judge")
            for service in SERVICES:
                world.until(lambda s=service: _hidden(world, s, case_id))
        world.shared[key] = ids
    return dict(world.shared[key])


def _hidden(world: World, service: str, case_id: str) -> bool:
    response = world.get(service, f"/cases/{case_id}", "admin", sub="seal-watch")
    return bool(response.status_code == 404)
