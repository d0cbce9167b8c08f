"""Each registered agency's AsyncAPI document (`caseline asyncapi --agency`) says exactly what
its role receives: its visible types and no others, and payload schemas that a delivery as the
ledger redacts it validates against, while the same entry unredacted does not."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from uuid import uuid4

import jsonschema
import pytest

from caseline.agency_asyncapi import render_agency_asyncapi
from caseline.cli import main
from caseline.natsconf import DEFAULT_REGISTRY
from services.ledger.visibility import visible_entries
from shared.agencies import Agency, load_agencies
from shared.events import build_envelope
from shared.events.registry import EVENT_TYPES, by_type
from shared.permissions import REDACTED_FIELDS, is_voiding, may_see
from tests.contract.samples import SAMPLES, subject_of
from tests.deploy.support import ROOT
from tests.support.documents import yaml_document

AGENCIES = load_agencies(ROOT / DEFAULT_REGISTRY)
WHEN = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@cache
def _rendered(agency_id: str) -> str:
    """The agency's document as the command prints it, rendered once for the module's tests."""
    (agency,) = [a for a in AGENCIES if a.id == agency_id]
    return render_agency_asyncapi(agency)


def _document(agency: Agency) -> dict[str, Any]:
    return yaml_document(_rendered(agency.id))  # type: ignore[no-any-return]


def _entry(type_name: str, role: str) -> dict[str, Any]:
    cls = by_type(type_name)
    sample = dict(SAMPLES[type_name])
    if is_voiding(type_name):
        # A voiding reaches a role only with the voided entry's type visible to it as well.
        service = type_name.split(".")[1]
        sample["voided_event_type"] = min(
            c.type_name()
            for c in EVENT_TYPES
            if c.service == service
            and not is_voiding(c.type_name())
            and may_see(role, c.type_name())
        )
    event = cls.model_validate(sample)
    envelope = build_envelope(
        event, event_id=uuid4(), subject=subject_of(type_name), actor="officer-1",
        agency="somewhere", recorded_at=WHEN,
    )  # fmt: skip
    return {
        "ledger_seq": 7, "case_seq": 3, "hash": "a" * 64, "prev_hash": "b" * 64,
        "appended_at": WHEN.isoformat(), "event": envelope.model_dump(mode="json"),
    }  # fmt: skip


@pytest.mark.parametrize("agency", AGENCIES, ids=lambda a: a.id)
def test_the_document_lists_exactly_the_types_the_agency_may_see(agency):
    document = _document(agency)

    titles = {m["title"] for m in document["components"]["messages"].values()}

    assert titles == {c.type_name() for c in EVENT_TYPES if may_see(agency.role, c.type_name())}
    assert document["x-nats-jetstream"]["consumer"] == f"agency-{agency.id}"
    assert document["x-nats-jetstream"]["filter_subject"] == f"deliver.{agency.id}.>"
    for channel in document["channels"].values():
        assert channel["address"].startswith(f"deliver.{agency.id}.caseline.")


@pytest.mark.parametrize("agency", AGENCIES, ids=lambda a: a.id)
def test_a_delivery_as_redacted_for_the_agency_validates_against_its_document(agency):
    document = _document(agency)

    for message in document["components"]["messages"].values():
        entry = _entry(message["title"], agency.role)
        (shown,) = visible_entries(agency.user, [entry])
        jsonschema.validate(shown, message["payload"])
        hidden = REDACTED_FIELDS.get(agency.role, {}).get(message["title"], ())
        assert message["x-caseline-redacted-fields"] == list(hidden)
        if any(_present(entry["event"]["data"], f) for f in hidden):
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(entry, message["payload"])


def _present(data: dict[str, Any], dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    value = data.get(head)
    if not rest:
        return value is not None
    return isinstance(value, dict) and _present(value, rest)


def test_the_command_prints_the_document_of_a_registered_agency(capsys):
    with pytest.raises(SystemExit) as done:
        main(["asyncapi", "--agency", "inspection", "--agencies", str(ROOT / DEFAULT_REGISTRY)])

    assert done.value.code == 0
    assert yaml_document(capsys.readouterr().out)["x-webhooks"]["attributes"].keys() >= {
        "ledgerseq",
        "ledgerhash",
    }


def test_an_unregistered_agency_is_refused(capsys):
    with pytest.raises(SystemExit) as done:
        main(["asyncapi", "--agency", "nobody", "--agencies", str(ROOT / DEFAULT_REGISTRY)])

    assert done.value.code == 2
    assert "not in" in capsys.readouterr().err
