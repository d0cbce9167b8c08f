"""The base of every catalogue event: strict, frozen pydantic models named after SPEC §5.

Field types here are the vocabulary every payload uses, so that every service validates alike.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    StrictBool,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

__all__ = [
    "TEXT_PATTERN",
    "CalendarDate",
    "CatalogueEvent",
    "Code",
    "Instant",
    "LongText",
    "Name",
    "PayloadModel",
    "ShortText",
    "StrictBool",
    "StrictInt",
]


def _reject_non_text_time(value: Any) -> Any:
    # JSON carries times as RFC 3339 strings; numbers (epoch seconds) are refused rather than
    # guessed at, so a client bug cannot silently record a wrong date.
    if isinstance(value, (str, datetime)):
        return value
    raise ValueError("a time must be an RFC 3339 string with a timezone offset")


def _whole_number(value: Any) -> Any:
    # JSON has one number type: `3.0` is the integer 3 (RFC 8259 §6, JSON Schema's "integer"),
    # stored as 3 so that canonical JSON, and so the ledger's hashes, stay the same. `3.5`, text
    # and booleans stay what they are, and the strict integer below refuses them.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _reject_non_text_date(value: Any) -> Any:
    # As for times: pydantic would read a number as epoch seconds; a calendar date is text.
    if isinstance(value, (str, date)):
        return value
    raise ValueError("a date must be an ISO 8601 string, YYYY-MM-DD")


_FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")

# What `_refuse_control_characters` accepts, stated as a JSON Schema `pattern` so clients and
# generated SDKs know it: optional whitespace, one character that is neither whitespace nor a
# control, then any characters but the controls. "Whitespace" is Python's `str.isspace` less the
# controls. The classes do not overlap, so matching is linear in any engine. Lone surrogates are
# not characters a portable pattern can name (I-JSON, RFC 7493, excludes them from JSON texts and
# the Rust and ECMAScript engines of validators refuse such a class); they stay refused all the same.
_SPACE = r"\t\n\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f"
TEXT_PATTERN = rf"^[{_SPACE}]*[^{_SPACE}{_CONTROLS}][^{_CONTROLS}]*$"
"""The JSON Schema `pattern` of every free text: not blank, no control character but tab, line
feed and carriage return."""


def _refuse_control_characters(value: str) -> str:
    # Tab, newline and carriage return are kept literally; other C0 controls (NUL cannot even be
    # stored in PostgreSQL text) and lone surrogates (not encodable as UTF-8) are refused.
    if _FORBIDDEN_CHARACTERS.search(value):
        raise ValueError("control characters and lone surrogates are not allowed")
    if not value.strip():
        raise ValueError("a text must not be blank")
    return value


def _text(max_length: int) -> Any:
    # The validator refuses, with its own message; the pattern states the same in the schema.
    return Field(min_length=1, max_length=max_length, json_schema_extra={"pattern": TEXT_PATTERN})


Instant = Annotated[AwareDatetime, BeforeValidator(_reject_non_text_time)]
"""A timezone-aware moment; naive datetimes and numbers are refused."""

CalendarDate = Annotated[date, BeforeValidator(_reject_non_text_date)]
"""A calendar day (a date of birth, the day a sentence starts); numbers are refused."""

StrictInt = Annotated[int, Strict(), BeforeValidator(_whole_number)]
"""An integer, written as JSON writes it (`3` or `3.0`); `3.5`, `"3"` and `true` are refused."""

Code = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
"""A short identifier chosen by people (an indicator id like `R3.1`): letters, digits, `_.-`."""

Name = Annotated[str, _text(200), AfterValidator(_refuse_control_characters)]
"""A name or short label: 1 to 200 characters."""

ShortText = Annotated[str, _text(500), AfterValidator(_refuse_control_characters)]
"""A short free text: 1 to 500 characters."""

LongText = Annotated[str, _text(8000), AfterValidator(_refuse_control_characters)]
"""A longer free text (a rationale, a note): 1 to 8,000 characters."""


# pydantic names a bound by its own keyword (`ge`), not JSON Schema's (`minimum`), when the bound
# lands outside a validated type, as in `StrictInt | None = Field(ge=1)` (pydantic issue 11576);
# validators and JSON Schema tools ignore unknown keywords, so the bound would go unstated.
_BOUND_KEYWORDS = {
    "ge": "minimum",
    "gt": "exclusiveMinimum",
    "le": "maximum",
    "lt": "exclusiveMaximum",
    "multiple_of": "multipleOf",
}


def _state_bounds(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") in ("integer", "number"):
            for bound, keyword in _BOUND_KEYWORDS.items():
                if bound in node:
                    node[keyword] = node.pop(bound)
        for value in node.values():
            _state_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _state_bounds(value)


class PayloadModel(BaseModel):
    """A nested part of a payload: frozen, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler, /
    ) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        _state_bounds(handler.resolve_ref_schema(schema))
        return schema


class CatalogueEvent(PayloadModel):
    """One event type of the catalogue (SPEC §5). Subclasses set the class variables."""

    service: ClassVar[str]
    event_name: ClassVar[str]
    version: ClassVar[int] = 1
    time_field: ClassVar[str | None] = None
    """The payload field that says when it happened in the world (the envelope's `time`)."""
    subject_name: ClassVar[str] = "case_id"
    """What the envelope `subject` (and the NATS subject's last token) identifies."""

    @classmethod
    def schema_name(cls) -> str:
        """`<service>.<EventName>.v<N>`, as served at `GET /schemas/{name}`."""
        return f"{cls.service}.{cls.event_name}.v{cls.version}"

    @classmethod
    def type_name(cls) -> str:
        """The CloudEvents `type`: `caseline.<service>.<EventName>.v<N>`."""
        return f"caseline.{cls.schema_name()}"

    @classmethod
    def dataschema(cls) -> str:
        """The CloudEvents `dataschema`: `urn:caseline:schema:<service>.<EventName>.v<N>`."""
        return f"urn:caseline:schema:{cls.schema_name()}"

    def occurred_at(self) -> datetime | None:
        """When it happened in the world, if the payload says so."""
        if self.time_field is None:
            return None
        value = getattr(self, self.time_field)
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            # A day with no time of day (a session date) happened from its start; UTC is the
            # offset of most of the Sahel, so the day stays the same day locally.
            return datetime.combine(value, time.min, tzinfo=UTC)
        return None
