"""The one error tree of Caseline's services; `shared.kit.problems` maps it to RFC 9457 problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

A = TypeVar("A")
R = TypeVar("R")

__all__ = [
    "CaselineError",
    "ConflictError",
    "FactNotYetLearntError",
    "ForbiddenError",
    "IdempotencyMismatchError",
    "InvalidFieldsError",
    "NotFoundError",
    "RuleViolation",
    "StaleVersionError",
    "UnavailableError",
    "within_calendar",
]


class CaselineError(Exception):
    """Base of every error a command or query may answer with."""

    status = 500
    title = "Internal error"
    slug = "internal"

    def __init__(self, detail: str = "", **params: object) -> None:
        """`detail` is the English message, its variable parts named placeholders filled from
        `params` (`NotFoundError("no case {case_id}", case_id=...)`): the problem translates it."""
        rendered = detail.format(**params) if params else detail
        super().__init__(rendered)
        self.template = detail
        self.params = params
        self.detail = rendered or self.title

    @property
    def problem_type(self) -> str:
        """The problem's stable type: the rule of a refusal, else the slug."""
        rule = getattr(self, "rule", None)
        return rule if self.status == 409 and rule else self.slug


class NotFoundError(CaselineError):
    """The case or object does not exist, or is not visible to the caller."""

    status = 404
    title = "Not found"
    slug = "not-found"


class ForbiddenError(CaselineError):
    """The caller's role or agency may not do this."""

    status = 403
    title = "Forbidden"
    slug = "forbidden"


class RuleViolation(CaselineError):
    """A domain rule refuses the command; `rule` names it and the detail explains it."""

    status = 409
    title = "Refused by a rule"
    slug = "rule"
    rule = "rule"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail, **params)
        if type(self).rule == "rule":
            self.rule = _kebab(type(self).__name__.removesuffix("Error"))


class ConflictError(CaselineError):
    """Another request changed the record at the same moment; retrying will work."""

    status = 409
    title = "Concurrent change"
    slug = "concurrent-change"


class IdempotencyMismatchError(CaselineError):
    """An `Idempotency-Key` was reused for a different request."""

    status = 422
    title = "Idempotency key reused"
    slug = "idempotency-key-reused"


class StaleVersionError(CaselineError):
    """The `If-Match` version is not the record's current version."""

    status = 412
    title = "Stale version"
    slug = "stale-version"


class UnavailableError(CaselineError):
    """A dependency (the database) is down; nothing was recorded."""

    status = 503
    title = "Service unavailable"
    slug = "unavailable"


class InvalidFieldsError(CaselineError):
    """A field names something the rules do not know, or a date past the calendar."""

    status = 422
    title = "Invalid fields"
    slug = "invalid-fields"


class FactNotYetLearntError(Exception):
    """A fact from another service arrived before the one it builds on (replicas consume in
    parallel): not a refusal; the reaction is retried until the earlier fact is in."""


def within_calendar(do: Callable[[A], R]) -> Callable[[A], R]:
    """`do`, answering a date pushed past the calendar (years 1 to 9999) as an invalid field."""

    def guarded(arg: A) -> R:
        try:
            return do(arg)
        except OverflowError:
            raise InvalidFieldsError(
                "invalid fields: a date, or a limit computed from it, is beyond the calendar"
            ) from None

    return guarded


def _kebab(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("-")
        out.append(ch.lower())
    return "".join(out)
