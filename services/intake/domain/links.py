"""The rules of person links (four eyes): which person a case names, and who may change it.

A case names the person of its arrest until a confirmed link names another; an unlink brings back
the arrest's own person. A registrar proposes, a second person confirms or rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.intake.domain.errors import (
    LinkAlreadyProposedError,
    LinkByOnePersonError,
    LinkNotPendingError,
    LinkToSamePersonError,
    NotLinkedError,
)
from shared.events.intake import LinkKind
from shared.kit.errors import ForbiddenError, NotFoundError
from shared.permissions import LINK_CONFIRMERS

__all__ = ["PendingLink", "check_answer", "check_proposal"]


@dataclass(frozen=True)
class PendingLink:
    """A proposed link waiting for a second person: what it does and who proposed it."""

    link_id: UUID
    kind: LinkKind
    person_id: UUID
    proposed_by: str
    proposer_role: str


def check_proposal(
    kind: LinkKind, person_id: UUID, names: UUID, own: UUID, pending: PendingLink | None
) -> None:
    """Refuse a proposal while another waits, or one that would change nothing."""
    if pending is not None:
        raise LinkAlreadyProposedError(
            "link {link_id} proposed by {proposer} waits for a second person: confirm or reject"
            " it first",
            link_id=pending.link_id,
            proposer=pending.proposed_by,
        )
    if kind is LinkKind.UNLINK and names == own:
        raise NotLinkedError("the case names its own person: there is no link to undo")
    if person_id == names:
        raise LinkToSamePersonError(
            "the case already names person {person_id}", person_id=person_id
        )


def check_answer(
    link_id: UUID, links: dict[UUID, PendingLink | None], actor: str, role: str, *, confirm: bool
) -> PendingLink:
    """The pending link a second person answers: 404 unknown, 409 answered or by its proposer,
    403 for a role that may not answer a proposer of that kind."""
    if link_id not in links:
        raise NotFoundError("no person link {link_id} on this case", link_id=link_id)
    link = links[link_id]
    if link is None:
        raise LinkNotPendingError(
            "person link {link_id} was already confirmed or rejected", link_id=link_id
        )
    if role not in LINK_CONFIRMERS.get(link.proposer_role, frozenset()):
        raise ForbiddenError(
            "a link proposed by {proposer_role} is answered by {roles}",
            proposer_role=link.proposer_role,
            roles=", ".join(sorted(LINK_CONFIRMERS.get(link.proposer_role, ()))),
        )
    if confirm and link.proposed_by == actor:
        raise LinkByOnePersonError(
            "{actor} proposed this link: a second, different person confirms it", actor=actor
        )
    return link
