"""The JSON Schemas and the AsyncAPI document are derived from the models and checked in."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.events import by_type, json_schema
from shared.events.base import CatalogueEvent
from shared.events.generate import ASYNCAPI_PATH, SCHEMAS_DIR, render_asyncapi, render_schemas
from shared.events.registry import EVENT_TYPES
from tests.support.documents import yaml_document

from .samples import SAMPLES

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = Path(__file__).parent / "payloads"
STALE = "is stale: run `make schemas` (python -m shared.events.generate) and review the diff"


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_each_schema_validates_its_own_dumped_sample(cls: type[CatalogueEvent]) -> None:
    schema = json_schema(cls)
    dumped = cls.model_validate(SAMPLES[cls.type_name()]).model_dump(mode="json")

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(dumped)


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.schema_name())
def test_each_schema_refuses_an_unknown_field(cls: type[CatalogueEvent]) -> None:
    dumped = {**cls.model_validate(SAMPLES[cls.type_name()]).model_dump(mode="json"), "x": 1}

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dumped, json_schema(cls), cls=jsonschema.Draft202012Validator)


def test_schema_is_identified_by_its_dataschema() -> None:
    schema = json_schema(by_type("caseline.intake.DetaineeAdmitted.v1"))

    assert schema["$id"] == "urn:caseline:schema:intake.DetaineeAdmitted.v1"
    assert schema["title"] == "intake.DetaineeAdmitted.v1"


def test_schema_states_the_legal_basis_rule_of_referrals() -> None:
    schema = json_schema(by_type("caseline.programmes.ReferralMade.v1"))
    referral = copy.deepcopy(SAMPLES["caseline.programmes.ReferralMade.v1"])
    referral["consent"] = "legal_basis"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(referral, schema, cls=jsonschema.Draft202012Validator)


def test_schema_states_that_only_a_conviction_proves_offences() -> None:
    schema = json_schema(by_type("caseline.judicial.VerdictDelivered.v1"))
    verdict = copy.deepcopy(SAMPLES["caseline.judicial.VerdictDelivered.v1"])
    acquittal = {**verdict, "outcome": "acquitted"}

    jsonschema.validate(verdict, schema, cls=jsonschema.Draft202012Validator)
    jsonschema.validate(
        {**acquittal, "offences_proven": []}, schema, cls=jsonschema.Draft202012Validator
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(acquittal, schema, cls=jsonschema.Draft202012Validator)


def test_checked_in_schemas_are_fresh() -> None:
    rendered = render_schemas()
    checked_in = {
        path.name: path.read_text(encoding="utf-8") for path in (ROOT / SCHEMAS_DIR).glob("*.json")
    }

    assert set(checked_in) == set(rendered), f"{SCHEMAS_DIR} {STALE}"
    stale = sorted(name for name, text in rendered.items() if checked_in[name] != text)
    assert stale == [], f"{SCHEMAS_DIR} {STALE}"


@cache
def _rendered_asyncapi() -> str:
    """The document as `make schemas` writes it, rendered once for the module's tests."""
    return render_asyncapi()


def _asyncapi() -> dict[str, Any]:
    return yaml_document(_rendered_asyncapi())  # type: ignore[no-any-return]


def test_checked_in_asyncapi_is_fresh() -> None:
    checked_in = (ROOT / ASYNCAPI_PATH).read_text(encoding="utf-8")

    assert checked_in == _rendered_asyncapi(), f"{ASYNCAPI_PATH} {STALE}"


def test_asyncapi_has_one_channel_per_event_type() -> None:
    document = _asyncapi()

    addresses = {channel["address"] for channel in document["channels"].values()}

    assert document["asyncapi"] == "3.0.0"
    assert "caseline.intake.ArrestRecorded.{case_id}" in addresses
    assert "caseline.programmes.ProgrammeCreated.{programme_id}" in addresses
    assert len(addresses) == len(EVENT_TYPES) + 1  # and the dead letters


def test_asyncapi_references_resolve() -> None:
    document = _asyncapi()

    refs = list(_refs(document))

    assert refs
    for ref in refs:
        _resolve(document, ref)


def test_asyncapi_message_payload_validates_a_real_envelope() -> None:
    document = _asyncapi()
    message = document["components"]["messages"]["intake.ArrestRecorded.v1"]
    schema = {**message["payload"], "components": document["components"]}
    envelope = yaml.safe_load(
        (Path(__file__).parent / "payloads/intake.ArrestRecorded.v1.json").read_text()
    )

    jsonschema.Draft7Validator(schema).validate(envelope)

    envelope["data"]["person"]["sex"] = "unknown"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(envelope)


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: object = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict), ref
        assert part in node, ref
        node = node[part]
    return node
