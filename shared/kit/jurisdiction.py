"""Jurisdiction rules: one jurisdiction's legal limits, loaded from `<code>.yaml` and validated.

The figures are data (`deploy/jurisdictions/`, each citing its legal source); this module only reads
and checks them. A malformed file stops start-up with a `JurisdictionError` naming the bad key.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.kit.settings import Settings

__all__ = [
    "CustodyRegime",
    "CustodyRules",
    "DetentionClass",
    "Jurisdiction",
    "JurisdictionError",
    "JuvenileRules",
    "PreTrialRules",
    "default_directory",
    "load_jurisdiction",
]

_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
Citation = Annotated[str, Field(min_length=3, max_length=500)]
RuleName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class JurisdictionError(ValueError):
    """The rules of a jurisdiction cannot be loaded: missing file, bad YAML or a bad key."""


class _Rules(BaseModel):
    # Strict: a figure written as "48" (text) or `true` is a mistake in the file, not a number.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CustodyRegime(_Rules):
    """Police custody (garde à vue) under one regime: its length and its extensions."""

    initial_hours: int = Field(ge=1, le=720)
    extension_hours: int = Field(ge=0, le=720, description="Longest single extension.")
    max_extensions: int = Field(ge=0, le=20)
    source: Citation

    @property
    def max_total_hours(self) -> int:
        return self.initial_hours + self.extension_hours * self.max_extensions


class CustodyRules(_Rules):
    """The custody regimes of the jurisdiction and which applies when none is named."""

    default_regime: RuleName
    alert_hours_before: int = Field(ge=0, le=720, description="When a deadline is due soon.")
    regimes: dict[RuleName, CustodyRegime] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> CustodyRules:
        if self.default_regime not in self.regimes:
            raise ValueError(f"default_regime {self.default_regime!r} is not among the regimes")
        return self


class DetentionClass(_Rules):
    """Pre-trial detention for one class of offence: first term, renewals and the maximum."""

    initial_term_days: int = Field(ge=1, le=3650)
    renewal_term_days: int = Field(ge=0, le=3650, description="Longest single renewal.")
    max_renewals: int | None = Field(default=None, ge=0, le=100)
    max_total_days: int = Field(ge=1, le=3650)
    review_window_days: int = Field(ge=0, le=365, description="Renewals fall due this early.")
    source: Citation

    @model_validator(mode="after")
    def _maximum_covers_first_term(self) -> DetentionClass:
        if self.max_total_days < self.initial_term_days:
            raise ValueError("max_total_days must not be less than initial_term_days")
        return self


class PreTrialRules(_Rules):
    """The classes of offence with their detention limits, and the default class."""

    default_class: RuleName
    classes: dict[RuleName, DetentionClass] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> PreTrialRules:
        if self.default_class not in self.classes:
            raise ValueError(f"default_class {self.default_class!r} is not among the classes")
        return self


class AppealRules(_Rules):
    """How long after an acquittal or dismissal it becomes final (then the case is sealed)."""

    period_days: int = Field(ge=0, le=3650)
    source: Citation


class JuvenileRules(_Rules):
    """What the law sets apart for a person under the age of majority at the time of the facts:
    one custody regime and the pre-trial terms of each offence class."""

    age_of_majority: int = Field(ge=1, le=25, description="Under this age, a minor.")
    criminal_responsibility_age: int | None = Field(
        default=None, ge=0, le=25, description="Under this age, no criminal responsibility."
    )
    custody: CustodyRegime
    pre_trial: dict[RuleName, DetentionClass] = Field(
        min_length=1, description="The terms for minors, by the offence classes of `pre_trial`."
    )
    source: Citation


class Jurisdiction(_Rules):
    """Every legal limit Caseline applies in one jurisdiction."""

    code: RuleName
    name: Annotated[str, Field(min_length=1, max_length=100)]
    review_required: bool = Field(
        description="True while figures still need checking against the law in force."
    )
    notes: Annotated[str, Field(max_length=4000)] | None = None
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The IANA zone of the courts and prisons: local dates (day counts, exports)."
    )
    custody: CustodyRules
    pre_trial: PreTrialRules
    appeal: AppealRules
    juveniles: JuvenileRules | None = Field(
        default=None, description="Limits for minors; without them minors get the adults' ones."
    )

    @model_validator(mode="after")
    def _juvenile_classes_known(self) -> Jurisdiction:
        if self.juveniles is not None:
            unknown = set(self.juveniles.pre_trial) - set(self.pre_trial.classes)
            missing = set(self.pre_trial.classes) - set(self.juveniles.pre_trial)
            if unknown or missing:
                raise ValueError(
                    "juveniles.pre_trial must name exactly the classes of pre_trial.classes"
                    f" (unknown: {sorted(unknown)}, missing: {sorted(missing)})"
                )
        return self

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
        return value

    @property
    def zone(self) -> tzinfo:
        """The jurisdiction's time zone, for every rule that counts in local days."""
        return ZoneInfo(self.time_zone)

    def local_date(self, instant: datetime) -> date:
        """The calendar date of an aware instant in the jurisdiction (not in UTC)."""
        if instant.tzinfo is None:
            raise ValueError("a naive datetime has no local date")
        return instant.astimezone(self.zone).date()

    def minor_at(self, date_of_birth: date, instant: datetime) -> bool:
        """Whether a person born on `date_of_birth` was under age at `instant`, counted in
        the jurisdiction's calendar (a birthday begins at local midnight)."""
        majority = self.juveniles.age_of_majority if self.juveniles else 18
        day = self.local_date(instant)
        age = (
            day.year
            - date_of_birth.year
            - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))
        )
        return age < majority


def default_directory() -> Path:
    """`deploy/jurisdictions` of the checkout: the repository root is two levels above here."""
    return Path(__file__).resolve().parents[2] / "deploy" / "jurisdictions"


def load_jurisdiction(settings: Settings) -> Jurisdiction:
    """The rules of `settings.jurisdiction`; raises `JurisdictionError` naming what is wrong."""
    code = settings.jurisdiction
    if not _CODE.match(code):
        raise JurisdictionError(f"CASELINE_JURISDICTION {code!r} is not a jurisdiction code")
    directory = (
        Path(settings.jurisdiction_dir) if settings.jurisdiction_dir else default_directory()
    )
    path = directory / f"{code}.yaml"
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JurisdictionError(f"no rules for jurisdiction {code!r}: {path} is missing") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise JurisdictionError(f"{path}: not readable YAML: {exc}") from None
    if not isinstance(document, dict):
        raise JurisdictionError(f"{path}: the rules must be a mapping of keys")
    try:
        rules = Jurisdiction.model_validate(document)
    except ValidationError as exc:
        raise JurisdictionError(f"{path}: {_problems(exc)}") from None
    if rules.code != code:
        raise JurisdictionError(f"{path}: code: {rules.code!r} does not match the file name")
    return rules


def _problems(exc: ValidationError) -> str:
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        message: Any = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "missing key"
        out.append(f"{key}: {message}")
    return "; ".join(out)
