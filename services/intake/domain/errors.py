"""The rules of the intake record, one error each: a refused command answers 409 with its rule.

The rule's name (the problem `type`) comes from the class name; the message is the `detail`.
"""

from __future__ import annotations

from shared.kit.errors import (
    FactNotYetLearntError,
    InvalidFieldsError,
    RuleViolation,
    within_calendar,
)

__all__ = [
    "AdmissionAfterReleaseError",
    "AlreadyAdmittedError",
    "AlreadyReleasedError",
    "BrokenChainOfCustodyError",
    "CustodyAfterAdmissionError",
    "CustodyAlreadyStartedError",
    "CustodyBeforeArrestError",
    "CustodyEndsBeforeStartError",
    "CustodyExpiredError",
    "CustodyExtensionLimitError",
    "CustodyNotRunningError",
    "EntryAlreadyVoidedError",
    "EntryNotVoidableError",
    "ErasureAlreadyRequestedError",
    "ErasureByOnePersonError",
    "ErasureInCustodyError",
    "ErasureNotRequestedError",
    "ErasureWithoutOrderError",
    "EvidenceOutOfOrderError",
    "ExtensionNotLaterError",
    "ExtensionTooLongError",
    "FactNotYetLearntError",
    "HandOverWithoutRecipientError",
    "IntakeError",
    "InvalidFieldsError",
    "LinkAlreadyProposedError",
    "LinkByOnePersonError",
    "LinkNotPendingError",
    "LinkOfErasedCaseError",
    "LinkToSamePersonError",
    "NoCustodyError",
    "NotLinkedError",
    "PersonReleasedError",
    "ReleaseBeforeOrderEffectiveError",
    "ReleaseNotVoidableError",
    "ReleaseWithoutOrderError",
    "TransferFromWrongFacilityError",
    "TransferToSameFacilityError",
    "UnknownPersonError",
    "VoidLaterEntriesFirstError",
    "within_calendar",
]


class IntakeError(RuleViolation):
    """A rule of the intake record refuses the command."""


class AdmissionAfterReleaseError(IntakeError):
    """A released person is admitted again only after a new arrest."""


class AlreadyAdmittedError(IntakeError):
    """An admitted person moves between prisons by a transfer, not a second admission."""


class PersonReleasedError(IntakeError):
    """Nothing more happens in custody after the person was released."""


class CustodyAlreadyStartedError(IntakeError):
    """Custody starts once per arrest; its prolongation is an extension."""


class CustodyAfterAdmissionError(IntakeError):
    """Police custody comes before admission to prison, not after."""


class CustodyBeforeArrestError(IntakeError):
    """Custody cannot start before the arrest."""


class CustodyEndsBeforeStartError(IntakeError):
    """What ends custody (an admission, a release) cannot be earlier than its start."""


class NoCustodyError(IntakeError):
    """Only a custody that started can be extended."""


class CustodyNotRunningError(IntakeError):
    """Custody ended (admission or release): there is nothing left to extend."""


class CustodyExpiredError(IntakeError):
    """An extension must be authorised while the custody runs, before its end."""


class CustodyExtensionLimitError(IntakeError):
    """The jurisdiction allows only so many extensions of custody."""


class ExtensionTooLongError(IntakeError):
    """One extension adds at most the jurisdiction's block of hours."""


class ExtensionNotLaterError(IntakeError):
    """An extension must move the end of custody later."""


class BrokenChainOfCustodyError(IntakeError):
    """A hand-over must name, as `collected_by`, who held the item before."""


class HandOverWithoutRecipientError(IntakeError):
    """An item already logged is logged again only to hand it over: `handed_to` is needed."""


class EvidenceOutOfOrderError(IntakeError):
    """A hand-over cannot be earlier than the item's previous entry."""


class TransferFromWrongFacilityError(IntakeError):
    """A transfer starts where the person is."""


class TransferToSameFacilityError(IntakeError):
    """A transfer goes somewhere else."""


class ReleaseWithoutOrderError(IntakeError):
    """A release needs a release order from judicial for this case."""


class AlreadyReleasedError(IntakeError):
    """A person leaves custody once."""


class ReleaseBeforeOrderEffectiveError(IntakeError):
    """The release cannot precede the moment the order takes effect."""


class EntryAlreadyVoidedError(IntakeError):
    """An entry is voided once."""


class EntryNotVoidableError(IntakeError):
    """Some entries cannot be voided (the arrest that opens the case, a voiding)."""


class ReleaseNotVoidableError(IntakeError):
    """A release that happened cannot be voided."""


class VoidLaterEntriesFirstError(IntakeError):
    """An entry others build on is voided only after them (e.g. custody after its extensions)."""


class AlreadyErasedError(IntakeError):
    """A case's personal data is erased once; its key no longer exists."""


class ErasureWithoutOrderError(IntakeError):
    """Personal data is erased only under a judicial erasure order recorded for this case."""


class ErasureInCustodyError(IntakeError):
    """No erasure while the person is held: custody, prison or pre-trial detention, until the
    release is recorded (what was recorded of the detention may be evidence of ill-treatment)."""


class ErasureAlreadyRequestedError(IntakeError):
    """One erasure request at a time: a second person confirms the one pending."""


class ErasureNotRequestedError(IntakeError):
    """An erasure is confirmed only against a pending request for the same order."""


class ErasureByOnePersonError(IntakeError):
    """Four eyes: the person who asked for an erasure cannot also confirm it."""


class LinkAlreadyProposedError(IntakeError):
    """One person link at a time: a pending proposal is confirmed or rejected first."""


class LinkToSamePersonError(IntakeError):
    """A link names a person the case does not name yet."""


class NotLinkedError(IntakeError):
    """An unlink undoes a link: the case must name another case's person."""


class LinkNotPendingError(IntakeError):
    """Only a pending proposal is confirmed or rejected."""


class LinkByOnePersonError(IntakeError):
    """A second, different person confirms a person link (four eyes)."""


class LinkOfErasedCaseError(IntakeError):
    """An erased case has no identity left to link."""


class UnknownPersonError(IntakeError):
    """A link names a person some case names, one of them a case the proposer may see."""
