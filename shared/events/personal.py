"""Personal data in payloads, sealed for crypto-shredding (SPEC §8, right to erasure).

Before a payload is stored or published, its personal fields are moved into one ciphertext (the
envelope's `personaldata` extension) encrypted with the case's own key, and replaced in `data` by
placeholders that still validate. Destroying the case's key erases those fields everywhere at once,
while every hash over the stored bytes stays valid. This module is the format; the key store and
the cipher live in the service kit.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Protocol, get_args, get_origin

from pydantic import BaseModel

from shared.events.base import CatalogueEvent

__all__ = [
    "ENCRYPTED",
    "ERASED",
    "PERSONAL_FIELDS",
    "CaseCipher",
    "KeyErasedError",
    "Sealed",
    "personal_fields",
    "reveal",
    "reveal_document",
    "seal",
    "seal_values",
]

ENCRYPTED = "[encrypted]"
ERASED = "[erased]"

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "caseline.intake.ArrestRecorded.v1": (
        "person.full_name", "person.aliases", "person.date_of_birth", "person.nationality",
        "person.place_of_origin", "person.identity_document", "person.father_name",
        "person.mother_name", "grounds", "accompanying_family",
    ),
    "caseline.intake.PersonLinkProposed.v1": ("reason",),
    "caseline.intake.PersonLinkRejected.v1": ("reason",),
    "caseline.intake.CustodyExtended.v1": ("reason",),
    "caseline.intake.EvidenceLogged.v1": ("description",),
    "caseline.intake.DetaineeTransferred.v1": ("reason",),
    "caseline.intake.DetaineeAdmitted.v1": (
        "next_of_kin", "health_screening", "injuries_observed", "property_inventory",
    ),
    "caseline.intake.FamilyContactRecorded.v1": ("with_whom", "note"),
    "caseline.intake.DetaineeReleased.v1": ("destination",),
    "caseline.judicial.ChargesFiled.v1": ("offences[].description",),
    "caseline.judicial.HearingScheduled.v1": ("purpose",),
    "caseline.judicial.SentenceImposed.v1": ("conditions",),
    "caseline.judicial.ReleaseOrdered.v1": ("conditions",),
    "caseline.judicial.CaseSealed.v1": ("reason",),
    "caseline.judicial.PreTrialDetentionRenewed.v1": ("reason",),
    "caseline.judicial.HearingHeld.v1": ("outcome_summary",),
    "caseline.judicial.HearingAdjourned.v1": ("reason",),
    "caseline.assessment.IndicatorRated.v1": ("evidence_note",),
    "caseline.assessment.AssessmentSubmitted.v1": ("rationale",),
    "caseline.assessment.AssessmentCountersigned.v1": ("note",),
    "caseline.assessment.NeedsAssessed.v1": ("family_situation", "health_needs"),
    "caseline.assessment.PlacementDecided.v1": ("rationale",),
    "caseline.programmes.ParticipantWithdrawn.v1": ("reason",),
    "caseline.programmes.ReferralMade.v1": ("reason",),
    "caseline.programmes.ReferralAccepted.v1": ("reason",),
    "caseline.programmes.ReferralDeclined.v1": ("reason",),
    "caseline.programmes.ReintegrationPlanAgreed.v1": (
        "goals", "employment", "housing", "mentor", "community_contact",
    ),
    "caseline.programmes.FollowUpRecorded.v1": ("note",),
    # A correction's reason may say what was wrong about the person ("the name was another's").
    **{f"caseline.{s}.EntryVoided.v1": ("reason",)
       for s in ("intake", "judicial", "assessment", "programmes")},
}  # fmt: skip
"""Event type → dotted payload fields that identify or describe the person (erasable).

Names, aliases, birth, nationality and origin, next of kin, health and injuries, free-text notes,
reasons (corrections' and seals' included), conditions and outcomes, evidence and offence
descriptions. Left in clear, as the legal acts they are: an erasure order and the erasure's own
reason (they must outlive the key they destroy), and procedural facts (courts, dates, facilities,
legal bases, register numbers). `[]` walks every item of a list
(`offences[].description`); the sealed extension names the concrete paths (`offences.0.description`).
"""


class KeyErasedError(Exception):
    """The case's key was destroyed: its personal data is erased."""


class CaseCipher(Protocol):
    """Encrypts and decrypts with a case's own key (the kit's key store implements it)."""

    def encrypt(self, case_id: str, plaintext: bytes, aad: bytes) -> tuple[str, bytes]: ...

    def decrypt(self, case_id: str, key_id: str, ciphertext: bytes, aad: bytes) -> bytes: ...


@dataclass(frozen=True)
class Sealed:
    """A payload with its personal fields replaced, and the `personaldata` extension holding them."""

    data: CatalogueEvent
    personaldata: dict[str, Any] | None


def personal_fields(event_type: str) -> tuple[str, ...]:
    return PERSONAL_FIELDS.get(event_type, ())


def _placeholder(model: type[BaseModel], path: str) -> Any:
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    field = model.model_fields[head.removesuffix("[]")]
    if rest:
        nested = get_args(field.annotation)[0] if many else field.annotation
        if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
            raise TypeError(f"{path}: only nested models can hold personal fields")
        return _placeholder(nested, rest)
    if not field.is_required():
        return field.get_default(call_default_factory=True)
    origin = get_origin(field.annotation)
    return [ENCRYPTED] if origin in (tuple, list) else ENCRYPTED


def _concrete(document: dict[str, Any], path: str) -> list[str]:
    """The declared path with each `[]` expanded to the indices present (`a[].b` → `a.0.b`)."""
    head, _, rest = path.partition("[]")
    if not _:
        return [path]
    items = _get(document, head)
    found: list[str] = []
    for index in range(len(items) if isinstance(items, list) else 0):
        found += _concrete(document, f"{head}.{index}{rest}")
    return found


def _step(node: Any, part: str) -> Any:
    if isinstance(node, list):
        return node[int(part)] if part.isdigit() and int(part) < len(node) else None
    return node.get(part) if isinstance(node, dict) else None


def _get(document: dict[str, Any], path: str) -> Any:
    node: Any = document
    for part in path.split("."):
        node = _step(node, part)
    return node


def _set(document: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = _step(node, part)
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def _aad(case_id: str, event_id: str) -> bytes:
    return f"caseline:{case_id}:{event_id}".encode()


def seal(event: CatalogueEvent, case_id: str, event_id: str, cipher: CaseCipher) -> Sealed:
    """Move the event's personal fields into a ciphertext under the case's key."""
    declared = personal_fields(event.type_name())
    if not declared:
        return Sealed(event, None)
    document = event.model_dump(mode="json")
    placeholders = {
        path: _placeholder(type(event), declared_path)
        for declared_path in declared
        for path in _concrete(document, declared_path)
    }
    values = {path: _get(document, path) for path in placeholders}
    for path, placeholder in placeholders.items():
        _set(document, path, placeholder)
    extension = seal_values(values, case_id, event_id, cipher)
    return Sealed(type(event).model_validate(document), extension)


def seal_values(
    values: dict[str, Any], case_id: str, event_id: str, cipher: CaseCipher
) -> dict[str, Any]:
    """The sealed extension holding `values` (path → JSON value) under the case's key.

    What `seal` stores for a catalogue payload, and the store's mapper for a service's internal
    events that copy a personal value; `reveal_document` restores either.
    """
    plaintext = json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
    key_id, ciphertext = cipher.encrypt(case_id, plaintext, _aad(case_id, event_id))
    return {
        "alg": "AES-256-GCM",
        "kid": key_id,
        "fields": list(values),
        "ct": base64.b64encode(ciphertext).decode(),
    }


def reveal_document(
    document: dict[str, Any],
    personaldata: dict[str, Any],
    case_id: str,
    event_id: str,
    cipher: CaseCipher,
) -> bool:
    """Restore the personal fields into a payload's JSON form in place; True if they were erased.

    The read path of the ledger: no model is built, the stored payload already passed validation.
    """
    try:
        plaintext = cipher.decrypt(
            case_id,
            str(personaldata["kid"]),
            base64.b64decode(personaldata["ct"]),
            _aad(case_id, event_id),
        )
    except KeyErasedError:
        for path in personaldata.get("fields", ()):
            if _get(document, path) == ENCRYPTED:
                _set(document, path, ERASED)
            elif _get(document, path) == [ENCRYPTED]:
                _set(document, path, [ERASED])
        return True
    for path, value in json.loads(plaintext).items():
        _set(document, path, value)
    return False


def reveal(
    sealed: CatalogueEvent,
    personaldata: dict[str, Any] | None,
    case_id: str,
    event_id: str,
    cipher: CaseCipher,
) -> tuple[CatalogueEvent, bool]:
    """The payload with its personal fields restored, and whether they were erased instead."""
    if not personaldata:
        return sealed, False
    document = sealed.model_dump(mode="json")
    erased = reveal_document(document, personaldata, case_id, event_id, cipher)
    return type(sealed).model_validate(document), erased
