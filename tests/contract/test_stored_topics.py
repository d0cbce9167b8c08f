"""Stored events keep the topic they were recorded under. Intake's and judicial's `Case` moved from
`services.<name>.domain` (a module) into `services.<name>.domain.case`: the events and aggregate
topics stored before still resolve, through the `domain` package's exports, to the same classes."""

from __future__ import annotations

import pytest
from eventsourcing.domain import DomainEvent
from eventsourcing.utils import get_topic, resolve_topic

from services.intake.domain import Case as IntakeCase
from services.judicial.domain import Case as JudicialCase

MOVED = [("services.intake.domain", IntakeCase), ("services.judicial.domain", JudicialCase)]


def _stored_event_classes(aggregate: type) -> list[type]:
    return [
        cls
        for name, cls in vars(aggregate).items()
        if isinstance(cls, type) and issubclass(cls, DomainEvent) and name != "Event"
    ]


@pytest.mark.parametrize(("old_module", "aggregate"), MOVED)
def test_an_aggregate_topic_stored_before_the_move_resolves_to_the_aggregate(old_module, aggregate):
    old_topic = f"{old_module}:Case"

    resolved = resolve_topic(old_topic)

    assert resolved is aggregate
    assert get_topic(aggregate) == f"{old_module}.case:Case"


@pytest.mark.parametrize(("old_module", "aggregate"), MOVED)
def test_every_event_topic_stored_before_the_move_resolves_to_its_class(old_module, aggregate):
    classes = _stored_event_classes(aggregate)

    resolved = {cls: resolve_topic(f"{old_module}:Case.{cls.__name__}") for cls in classes}

    assert len(classes) > 5
    assert all(found is cls for cls, found in resolved.items())
