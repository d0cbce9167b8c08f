"""The longer rules of the judicial record, as pure checks: detention orders and renewals,
hearings, release orders, what may be voided, and which of intake's facts to note.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, timedelta, tzinfo
from typing import Any
from uuid import UUID

from services.judicial.domain.errors import (
    AlreadyReleasedError,
    CaseSealedError,
    ChargesRequiredError,
    DetentionAfterReleaseError,
    DetentionAfterVerdictError,
    DetentionAlreadyOrderedError,
    DetentionBeyondMaximumError,
    DetentionExpiredError,
    DetentionTermTooLongError,
    EntryNotVoidableError,
    FactNotYetLearntError,
    HearingClosedError,
    NoDetentionOrderError,
    ReleaseBeforeSentenceEndsError,
    ReleaseKindNotAllowedError,
    ReleaseOrderExecutedError,
    RenewalLimitError,
    RenewalNotLaterError,
    RenewalTooLongError,
    VoidLaterEntriesFirstError,
)
from services.judicial.domain.state import CaseState, Entry
from shared.events.judicial import (
    PreTrialDetentionOrdered,
    PreTrialDetentionRenewed,
    ReleaseKind,
    ReleaseOrdered,
    VerdictOutcome,
)
from shared.kit.errors import NotFoundError

__all__ = [
    "check_detention_order",
    "check_hearing_open",
    "check_release_order",
    "check_renewal",
    "check_voidable",
    "worth_noting",
]


def check_detention_order(
    state: CaseState, data: PreTrialDetentionOrdered, limits: Mapping[str, Any]
) -> None:
    """A first order: after charges, before the verdict, within the class's initial term."""
    if not state.charges:
        raise ChargesRequiredError(
            "no detention order without charges: the prosecutor files them first"
        )
    if state.verdict is not None:
        raise DetentionAfterVerdictError(
            "the verdict was delivered: pre-trial detention ended with it"
        )
    if state.released_at is not None:
        raise DetentionAfterReleaseError(
            "the person was released: a new detention needs a new arrest"
        )
    if state.pre_trial is not None:
        raise DetentionAlreadyOrderedError(
            "pre-trial detention is already ordered until {expires_at}: renew it instead",
            expires_at=state.pre_trial.expires_at.isoformat(),
        )
    longest = data.ordered_at + timedelta(days=limits["initial_term_days"])
    if data.expires_at > longest:
        raise DetentionTermTooLongError(
            "a first order for the offence class {offence_class} runs at most {days} days "
            "({source}): it must expire by {longest}",
            offence_class=limits["offence_class"],
            days=limits["initial_term_days"],
            source=limits["source"],
            longest=longest.isoformat(),
        )


def check_hearing_open(state: CaseState, hearing_id: UUID) -> None:
    """A hearing of the case, neither held nor adjourned yet (404 if unknown)."""
    hearing = state.hearings.get(hearing_id)
    if hearing is None:
        raise NotFoundError("no hearing {hearing_id} in this case", hearing_id=hearing_id)
    if hearing.status != "scheduled":
        raise HearingClosedError(
            "hearing {hearing_id} was already {status}: a hearing is held or adjourned once",
            hearing_id=hearing_id,
            status=hearing.status,
        )


def check_renewal(state: CaseState, data: PreTrialDetentionRenewed) -> None:
    """Renewals only while the detention runs, within one renewal term and the legal maximum."""
    detention, limit = state.detention, state.pre_trial
    if detention is None or limit is None:
        raise NoDetentionOrderError("no pre-trial detention was ordered: there is nothing to renew")
    if state.verdict is not None:
        raise DetentionAfterVerdictError(
            "the verdict was delivered: pre-trial detention ended with it"
        )
    if limit.ended_at is not None:
        raise NoDetentionOrderError(
            "pre-trial detention ended at {ended_at} ({ended_by})",
            ended_at=limit.ended_at.isoformat(),
            ended_by=limit.ended_by,
        )
    if data.renewed_at > limit.expires_at:
        raise DetentionExpiredError(
            "the detention expired at {expires_at}: renewals come only before expiry; without "
            "one, the detainee must be brought before the prosecutor",
            expires_at=limit.expires_at.isoformat(),
        )
    rules = detention.limits
    allowed = rules.get("max_renewals")
    if rules["renewal_term_days"] == 0 or (
        allowed is not None and len(detention.renewals) >= allowed
    ):
        raise RenewalLimitError(
            "the offence class {offence_class} allows {allowed} renewal(s) ({source})",
            offence_class=rules["offence_class"],
            allowed=allowed or 0,
            source=rules["source"],
        )
    if data.expires_at <= limit.expires_at:
        raise RenewalNotLaterError(
            "a renewal must run past the current expiry, {expires_at}",
            expires_at=limit.expires_at.isoformat(),
        )
    maximum = detention.ordered_at + timedelta(days=rules["max_total_days"])
    if data.expires_at > maximum:
        raise DetentionBeyondMaximumError(
            "pre-trial detention for the offence class {offence_class} may not exceed {days} "
            "days in all ({source}): at the latest until {maximum}",
            offence_class=rules["offence_class"],
            days=rules["max_total_days"],
            source=rules["source"],
            maximum=maximum.isoformat(),
        )
    longest = limit.expires_at + timedelta(days=rules["renewal_term_days"])
    if data.expires_at > longest:
        raise RenewalTooLongError(
            "one renewal adds at most {days} days ({source}): at the latest until {longest}",
            days=rules["renewal_term_days"],
            source=rules["source"],
            longest=longest.isoformat(),
        )


_VERDICT_FOR = {
    ReleaseKind.ACQUITTAL: VerdictOutcome.ACQUITTED,
    ReleaseKind.DISMISSAL: VerdictOutcome.DISMISSED,
}


def check_release_order(state: CaseState, data: ReleaseOrdered, zone: tzinfo = UTC) -> None:
    """A release order's kind must fit the case: verdict, sentence, or pending trial for bail;
    `zone` is the jurisdiction's, whose calendar the sentence's days follow."""
    if state.released_at is not None:
        raise AlreadyReleasedError(
            "intake recorded the person's release at {released_at}",
            released_at=state.released_at.isoformat(),
        )
    kind = data.kind
    outcome = state.verdict.data.outcome if state.verdict is not None else None
    if kind in _VERDICT_FOR:
        if outcome is not _VERDICT_FOR[kind]:
            raise ReleaseKindNotAllowedError(
                "a release for {kind} needs a verdict of {verdict}",
                kind=kind.value,
                verdict=_VERDICT_FOR[kind].value,
            )
        if any(o.kind == kind.value for o in state.orders.values()):
            raise ReleaseKindNotAllowedError(
                "the release for {kind} is already ordered", kind=kind.value
            )
    elif kind in (ReleaseKind.SENTENCE_SERVED, ReleaseKind.CONDITIONAL):
        if state.sentence is None:
            raise ReleaseKindNotAllowedError(
                "a release for {kind} needs a sentence", kind=kind.value
            )
        ends = state.sentence.data.release_date
        if kind is ReleaseKind.SENTENCE_SERVED and data.effective_at.astimezone(zone).date() < ends:
            raise ReleaseBeforeSentenceEndsError(
                "the sentence ends on {ends}: the release for a sentence served takes effect on "
                "or after that day",
                ends=ends.isoformat(),
            )
    elif kind is ReleaseKind.BAIL and state.verdict is not None:
        raise ReleaseKindNotAllowedError("bail is granted pending trial, before the verdict")


def check_voidable(state: CaseState, target: Entry) -> None:
    """What of judicial's own may be voided (the entry log refuses a second voiding and a
    voiding's): not in a sealed case, not an automatic seal, not an executed release;
    dependants first."""
    if state.sealed is not None and state.sealed.event_id != target.event_id:
        raise CaseSealedError("the case is sealed: it takes no new entry")
    if target.name == "CaseSealed" and target.extras.get("automatic"):
        raise EntryNotVoidableError(
            "an automatic seal follows a final acquittal or dismissal and cannot be voided"
        )
    if target.name == "ReleaseOrdered":
        order = state.orders.get(target.data.release_order_id)
        if order is not None and order.executed:
            raise ReleaseOrderExecutedError(
                "the prison released the person under this order: a release that happened "
                "cannot be voided"
            )
    later = _dependants(state, target)
    if later:
        raise VoidLaterEntriesFirstError(
            "void the entries that build on this {entry} first: {entries}",
            entry=target.name,
            entries=", ".join(str(e) for e in later),
        )


def _dependants(state: CaseState, target: Entry) -> list[UUID]:
    """Live entries that would lose their footing if `target` were voided."""
    detention = state.detention
    if target.name == "PreTrialDetentionOrdered" and detention is not None:
        return list(detention.renewals)
    if target.name == "PreTrialDetentionRenewed" and detention is not None:
        renewals = detention.renewals
        return (
            renewals[renewals.index(target.event_id) + 1 :] if target.event_id in renewals else []
        )
    if target.name == "VerdictDelivered":
        sentence = [state.sentence.event_id] if state.sentence is not None else []
        orders = [o.event_id for o in state.orders.values() if o.caused_by == target.event_id]
        return sentence + orders
    if target.name == "ChargesFiled" and state.charges == [target.event_id]:
        built = [detention.order_event_id] if detention is not None else []
        return built + ([state.verdict.event_id] if state.verdict is not None else [])
    if target.name == "HearingScheduled":
        hearing = state.hearings.get(target.data.hearing_id)
        return [hearing.closed_event_id] if hearing is not None and hearing.closed_event_id else []
    return []


_FOLLOWED = frozenset(
    {
        "CustodyStarted",
        "CustodyExtended",
        "DetaineeAdmitted",
        "DetaineeTransferred",
        "DetaineeReleased",
    }
)
"""The intake entries judicial follows (event names)."""


def worth_noting(
    entries: list[Entry], source_event_id: UUID, fact: str, fields: Mapping[str, Any]
) -> bool:
    """Whether a fact of intake's record is new and followed; raises `FactNotYetLearntError` if
    it arrived before the fact it builds on (replicas of judicial consume in parallel)."""
    if any(e.event_id == source_event_id for e in entries):
        return False
    if fact == "CustodyExtensionNoted" and not any(e.name == "CustodyNoted" for e in entries):
        raise FactNotYetLearntError("the custody this extends is not learnt yet")
    if fact != "EntryVoided":
        return True
    target = fields["voided_event_id"]
    if any(e.event_id == target and not e.actor for e in entries):
        return True
    voided_type = str(fields.get("voided_event_type") or "...").split(".")
    if voided_type[2] in _FOLLOWED:
        raise FactNotYetLearntError(f"the voided entry {target} is not learnt yet")
    return False
