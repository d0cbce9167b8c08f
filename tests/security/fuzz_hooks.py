"""Schemathesis hooks for `fuzz.py`: which refusals of schema-valid data are expected, and why.

A 422 for data its schema allows is a failure unless it names one of the rules below: rules
JSON Schema cannot state (one value against another, uniqueness of a member of the items) or
that depend on the deployment's configuration, so no static schema can list their values.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import schemathesis

UNSTATABLE_RULES = (
    # One value against another of the same body.
    "scale min must be less than max",
    "every labelled value must lie within min..max",
    "extended_until must be after authorised_at",
    "expires_at must be after ordered_at",
    "expires_at must be after renewed_at",
    "ends_on must not be before starts_on",
    "a link names person_id; an unlink names none",
    # A date pushed past the calendar by the limit computed from it (a term, a deadline).
    "is beyond the calendar",
    # Unique by one member of the items (`uniqueItems` compares whole items).
    "a scale value is labelled twice",
    "domain ids must be unique",
    "indicator ids must be unique across the instrument",
    # The statistics' span: one date against the other (`GET /stats`).
    "must not be after `to`",
    "days can be asked at once",
    # The jurisdiction's rules name these: deploy/jurisdictions/<code>.yaml.
    "has no custody regime",
    "has no offence class",
)
"""Words of the refusals a schema cannot state, as the services' validators phrase them."""

# An error of an enclosing list that follows from a refused item (pydantic counts the items
# left after validation), not a rule of its own.
_CONSEQUENCE = "after validation"


def _reasons(problem: Any) -> list[str]:
    if not isinstance(problem, dict):
        return ["an answer that is not a problem document"]
    errors = problem.get("errors") or []
    found = [str(e.get("message", "")) for e in errors if isinstance(e, dict)]
    return found or [str(problem.get("detail", ""))]


def _unexplained(problem: Any) -> list[str]:
    """The reasons of a 422 problem that none of `UNSTATABLE_RULES` explains."""
    reasons = _reasons(problem)
    explained = [r for r in reasons if any(rule in r for rule in UNSTATABLE_RULES)]
    return [r for r in reasons if r not in explained and not (explained and _CONSEQUENCE in r)]


def _body_fits_its_schema(case: Any) -> bool:
    # Schemathesis marks a case as valid by how it was generated; a stateful step that merges a
    # field taken from a link into a body may break the body's schema and keep the mark.
    body = case.body
    if not isinstance(body, (dict, list)):
        return True
    declared = case.operation.get_body_for_media_type(case.media_type)
    if declared is None:
        return True
    return bool(jsonschema_rs.validator_for(declared.validation_schema).is_valid(body))


@schemathesis.check
def refused_only_by_rules_a_schema_cannot_state(ctx: Any, response: Any, case: Any) -> None:
    """Schema-valid data is refused (422) only by a rule of `UNSTATABLE_RULES`."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return
    if not _body_fits_its_schema(case):
        return
    try:
        problem = response.json()
    except ValueError:
        problem = None
    unexplained = _unexplained(problem)
    if unexplained:
        raise AssertionError(f"Valid data refused: {'; '.join(unexplained)}")
