"""Events of the `intake` service (SPEC §5): the case from arrest through custody to release."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field, model_validator

from shared.events.base import (
    CalendarDate,
    CatalogueEvent,
    Instant,
    LongText,
    Name,
    PayloadModel,
    ShortText,
    StrictBool,
    StrictInt,
)

__all__ = [
    "EVENTS",
    "AccompanyingPerson",
    "ArrestRecorded",
    "ContactKind",
    "CustodyExtended",
    "CustodyStarted",
    "DetaineeAdmitted",
    "DetaineeReleased",
    "DetaineeTransferred",
    "EvidenceLogged",
    "FamilyContactRecorded",
    "LinkKind",
    "NextOfKin",
    "Person",
    "PersonLinkConfirmed",
    "PersonLinkProposed",
    "PersonLinkRejected",
    "PersonalDataErased",
    "PropertyItem",
    "Quarter",
    "Sex",
]


class Sex(StrEnum):
    """Sex as recorded on the arrest report."""

    MALE = "male"
    FEMALE = "female"


class Quarter(StrEnum):
    """Whom a facility, or the wing or quarter of it, holds: adults or minors (children are held
    apart from adults: CRC art. 37(c), Mandela Rule 11(d), Niger loi n° 2014-72 art. 21)."""

    ADULTS = "adults"
    MINORS = "minors"


class ContactKind(StrEnum):
    """How a detainee was in contact with family."""

    VISIT = "visit"
    CALL = "call"
    LETTER = "letter"


class Person(PayloadModel):
    """The arrested person as identified at arrest."""

    full_name: Name
    aliases: Annotated[tuple[Name, ...], Field(max_length=20)] = ()
    date_of_birth: CalendarDate | None = None
    date_of_birth_estimated: StrictBool = Field(
        default=False, description="The date of birth is an estimate (no civil record)."
    )
    minor: StrictBool | None = Field(
        default=None,
        description="Declared under 18 at the arrest, when no date of birth is known; a date of "
        "birth, even estimated, decides instead.",
    )
    sex: Sex
    nationality: Name = Field(
        description="ISO 3166-1 alpha-2 code where known (e.g. ML, BF, NE), else as stated."
    )
    languages: Annotated[tuple[Name, ...], Field(max_length=20)] = ()
    place_of_origin: ShortText | None = None
    identity_document: Name | None = Field(
        default=None, description="Kind and number of an identity document, if any was seen."
    )
    father_name: Name | None = Field(
        default=None, description='The father\'s name as court documents give it ("fils de …").'
    )
    mother_name: Name | None = Field(default=None, description="The mother's name, likewise.")


class AccompanyingPerson(PayloadModel):
    """A family member arrested or received with the person (e.g. a returning fighter's child)."""

    full_name: Name
    relationship: Name = Field(description="Relationship to the arrested person, e.g. 'son'.")
    date_of_birth: CalendarDate | None = None
    sex: Sex | None = None
    minor: StrictBool | None = Field(
        default=None, description="Under 18, when stated without a date of birth."
    )


class ArrestRecorded(CatalogueEvent):
    """A person was arrested; this opens the case."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "ArrestRecorded"
    time_field: ClassVar[str | None] = "arrested_at"

    person: Person
    arrested_at: Instant
    location: ShortText = Field(description="Where the arrest took place.")
    arresting_unit: Name = Field(description="The police or gendarmerie unit that arrested.")
    grounds: LongText = Field(description="The stated grounds for the arrest.")
    returning_foreign_fighter: StrictBool
    accompanying_family: Annotated[tuple[AccompanyingPerson, ...], Field(max_length=30)] = ()
    report_ref: Name | None = Field(
        default=None, description="Reference of the arrest report (procès-verbal)."
    )
    minor_at_facts: StrictBool | None = Field(
        default=None,
        description="Filled by intake: the person was under the age of majority at the arrest, "
        "from the date of birth (or the declaration); not personal, so others may act on it.",
    )
    person_id: UUID | None = Field(
        default=None,
        description="The person the case names at arrest: a new person; a confirmed link may "
        "later name another.",
    )


class CustodyStarted(CatalogueEvent):
    """Police custody (garde à vue) began."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "CustodyStarted"
    time_field: ClassVar[str | None] = "started_at"

    started_at: Instant
    legal_basis: ShortText
    max_hours: StrictInt = Field(
        ge=1, le=720, description="Legal limit in hours, from the jurisdiction's rules."
    )
    location: ShortText | None = Field(default=None, description="Where the person is held.")


class CustodyExtended(CatalogueEvent):
    """An authorised extension of police custody."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "CustodyExtended"
    time_field: ClassVar[str | None] = "authorised_at"

    extended_until: Instant = Field(description="The new end of the custody.")
    authorised_by: Name = Field(description="The prosecutor or judge who authorised it.")
    reason: ShortText
    authorised_at: Instant | None = None

    @model_validator(mode="after")
    def _ends_after_authorisation(self) -> CustodyExtended:
        if self.authorised_at is not None and self.extended_until <= self.authorised_at:
            raise ValueError("extended_until must be after authorised_at")
        return self


class EvidenceLogged(CatalogueEvent):
    """An item of evidence was collected or handed over (chain of custody)."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "EvidenceLogged"
    time_field: ClassVar[str | None] = "collected_at"

    item_id: Name = Field(
        description="The item's seal or tag number; the same item is logged at each hand-over."
    )
    description: ShortText
    collected_by: Name
    collected_at: Instant
    handed_to: Name | None = Field(
        default=None, description="Who received the item, if it was handed over."
    )
    storage_location: ShortText | None = None


class DetaineeTransferred(CatalogueEvent):
    """The person was moved between places of detention."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "DetaineeTransferred"
    time_field: ClassVar[str | None] = "transferred_at"

    from_facility: Name
    to_facility: Name
    transferred_at: Instant
    reason: ShortText
    escort: Name | None = Field(default=None, description="The unit that escorted the transfer.")
    to_quarter: Quarter | None = Field(
        default=None, description="Whom the receiving facility or wing holds: adults or minors."
    )


class PropertyItem(PayloadModel):
    """A personal belonging taken into safekeeping on admission (Mandela Rule 7(c))."""

    description: ShortText
    quantity: StrictInt = Field(default=1, ge=1, le=10_000)


class NextOfKin(PayloadModel):
    """A person to inform, as given by the detainee on admission."""

    full_name: Name
    relationship: Name
    contact: ShortText | None = Field(default=None, description="Address or telephone number.")


class DetaineeAdmitted(CatalogueEvent):
    """The person was admitted to a prison (Mandela Rule 7 record)."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "DetaineeAdmitted"
    time_field: ClassVar[str | None] = "admitted_at"

    facility: Name = Field(description="The prison that admitted the person.")
    admitted_at: Instant
    warrant_ref: Name = Field(description="Reference of the committal order (mandat de dépôt).")
    register_number: Name | None = Field(
        default=None, description="The prison register (écrou) number given on admission."
    )
    quarter: Quarter | None = Field(
        default=None, description="Whom the facility or wing of admission holds: adults or minors."
    )
    health_screening: LongText | None = None
    property_inventory: Annotated[tuple[PropertyItem, ...], Field(max_length=200)] = ()
    next_of_kin: Annotated[tuple[NextOfKin, ...], Field(max_length=10)] = ()
    injuries_observed: LongText | None = Field(
        default=None,
        description="Visible injuries and any report of ill-treatment (Mandela Rule 7(d)).",
    )


class FamilyContactRecorded(CatalogueEvent):
    """The detainee had a visit, a call or a letter from family."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "FamilyContactRecorded"
    time_field: ClassVar[str | None] = "at"

    kind: ContactKind
    with_whom: Name
    relationship: Name
    at: Instant
    duration_minutes: StrictInt | None = Field(default=None, ge=1, le=1440)
    note: ShortText | None = None


class DetaineeReleased(CatalogueEvent):
    """The person left custody under a release order."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "DetaineeReleased"
    time_field: ClassVar[str | None] = "released_at"

    released_at: Instant
    release_order_id: UUID = Field(description="The judicial release order it executes.")
    destination: ShortText | None = Field(
        default=None, description="Where the person went (an address, a programme, a family)."
    )


class PersonalDataErased(CatalogueEvent):
    """The case's personal data was erased by destroying its key (an addition to SPEC §5)."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "PersonalDataErased"

    reason: ShortText = Field(
        description="Why, e.g. the court order or the request that it executes."
    )
    legal_basis: ShortText | None = Field(default=None, description="The order or law relied on.")
    erasure_order_id: UUID | None = Field(
        default=None, description="The judicial erasure order it executes (`ErasureOrdered`)."
    )


class LinkKind(StrEnum):
    """What a confirmed link does to the person a case names."""

    LINK = "link"  # the case names an existing person
    UNLINK = "unlink"  # the case goes back to a person of its own (a wrong link undone)


class PersonLinkProposed(CatalogueEvent):
    """A registrar proposed the person the case names; nothing changes until a second confirms."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "PersonLinkProposed"

    link_id: UUID
    kind: LinkKind
    person_id: UUID = Field(description="The person the case names once confirmed.")
    proposed_by: Name
    reason: ShortText
    match_reasons: Annotated[tuple[ShortText, ...], Field(max_length=20)] = Field(
        default=(), description="Why the registry ranked the person as a candidate, in words."
    )


class PersonLinkConfirmed(CatalogueEvent):
    """A second person confirmed a proposed link: the case names `person_id` from now on."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "PersonLinkConfirmed"

    link_id: UUID
    kind: LinkKind
    person_id: UUID = Field(description="The person the case names from now on.")
    confirmed_by: Name


class PersonLinkRejected(CatalogueEvent):
    """A proposed link was rejected: the case's person does not change."""

    service: ClassVar[str] = "intake"
    event_name: ClassVar[str] = "PersonLinkRejected"

    link_id: UUID
    rejected_by: Name
    reason: ShortText


EVENTS: tuple[type[CatalogueEvent], ...] = (
    ArrestRecorded,
    CustodyStarted,
    CustodyExtended,
    EvidenceLogged,
    DetaineeTransferred,
    DetaineeAdmitted,
    FamilyContactRecorded,
    DetaineeReleased,
    PersonalDataErased,
    PersonLinkProposed,
    PersonLinkConfirmed,
    PersonLinkRejected,
)
"""Every intake event, in SPEC §5 order, then the additions."""
