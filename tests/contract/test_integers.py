"""Integers as JSON writes them: `48.0` is the integer 48 and is stored as 48; every schema states
an integer's bounds with JSON Schema's keywords, whether or not the field may be null."""

from __future__ import annotations

import copy
import importlib
import json
from typing import Any

import pytest
from pydantic import Field

from shared.events import EVENT_TYPES, by_type, json_schema
from shared.events.base import PayloadModel, StrictInt
from shared.events.registry import SERVICES
from shared.kit.settings import Settings

from .samples import SAMPLES

CUSTODY = "caseline.intake.CustodyStarted.v1"
PYDANTIC_BOUNDS = {"ge", "gt", "le", "lt", "multiple_of"}


class _Bounded(PayloadModel):
    required: StrictInt = Field(ge=1, le=9)
    optional: StrictInt | None = Field(default=None, ge=1, le=9)


def _numbers(node: Any) -> list[dict[str, Any]]:
    """Every schema of a number or an integer within `node`."""
    if isinstance(node, list):
        return [found for item in node for found in _numbers(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if node.get("type") in ("integer", "number") else []
    return own + [found for value in node.values() for found in _numbers(value)]


def test_a_whole_number_written_with_a_point_is_read_and_stored_as_the_integer() -> None:
    payload = {**copy.deepcopy(SAMPLES[CUSTODY]), "max_hours": 48.0}
    cls = by_type(CUSTODY)

    from_python = cls.model_validate(payload)
    from_json = cls.model_validate_json(json.dumps(payload))

    for event in (from_python, from_json):
        assert type(event.max_hours) is int
        assert '"max_hours":48,' in event.model_dump_json()


@pytest.mark.parametrize("value", [0.0, 10.0, -1.0, float("inf"), float("nan")])
def test_a_whole_number_with_a_point_is_held_to_the_bounds_of_the_integer(value: float) -> None:
    with pytest.raises(ValueError, match="optional"):
        _Bounded(required=1, optional=value)


def test_an_optional_integer_states_its_bounds_as_json_schema_does() -> None:
    schema = _Bounded.model_json_schema()["properties"]["optional"]

    [integer] = [member for member in schema["anyOf"] if member.get("type") == "integer"]
    assert (integer["minimum"], integer["maximum"]) == (1, 9)
    assert not PYDANTIC_BOUNDS & set(integer)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_no_event_schema_names_a_bound_by_pydantic_s_keyword(cls: Any) -> None:
    assert all(not PYDANTIC_BOUNDS & set(n) for n in _numbers(json_schema(cls)))


@pytest.mark.parametrize("service", SERVICES)
def test_no_openapi_schema_names_a_bound_by_pydantic_s_keyword(service: str) -> None:
    module = importlib.import_module(f"services.{service}.service")
    openapi = module.create_app(Settings(environment="test")).openapi()

    numbers = _numbers(openapi)

    assert numbers
    assert all(not PYDANTIC_BOUNDS & set(n) for n in numbers)
