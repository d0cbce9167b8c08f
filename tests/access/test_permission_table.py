"""The permission table (shared/permissions.py) covers every route and every event type: each
command route records a catalogue event some role may record, every event type has its roles and
its readers, every service its readers; a route the tests do not know fails here.
"""

from __future__ import annotations

import importlib
import typing
from functools import cache
from typing import Any

import pytest
from pydantic import BaseModel

from shared.events import EVENT_TYPES
from shared.events.registry import SERVICES as ALL_SERVICES
from shared.events.registry import by_type
from shared.kit.settings import Settings
from shared.permissions import (
    ALL,
    COMMAND_ROLES,
    REDACTED_FIELDS,
    ROLES,
    SEALED_CASE_READERS,
    SERVICE_READERS,
    VISIBLE_TYPES,
    may_see,
)
from tests.access.routes import (
    COMMAND_ROUTES,
    NARROWED_READERS,
    READ_ROUTES,
    SERVICES,
    UNGUARDED,
    event_type,
)

CATALOGUE = {model.type_name() for model in EVENT_TYPES}


@cache
def openapi_paths(service: str) -> dict[str, Any]:
    """The service's OpenAPI paths, from its app as built (nothing started)."""
    module = importlib.import_module(f"services.{service}.service")
    app = module.create_app(Settings(environment="test"))
    return dict(app.openapi()["paths"])


def routes_with(service: str, method: str) -> set[str]:
    return {path for path, ops in openapi_paths(service).items() if method in ops}


@pytest.mark.parametrize("service", SERVICES)
def test_the_command_routes_of_a_service_are_exactly_those_of_the_route_table(service):
    assert routes_with(service, "post") == set(COMMAND_ROUTES[service])


@pytest.mark.parametrize("service", SERVICES)
def test_the_read_routes_of_a_service_are_exactly_those_of_the_route_table(service):
    assert routes_with(service, "get") - set(UNGUARDED) == set(READ_ROUTES[service])


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_answers_no_method_but_get_and_post(service):
    methods = {method for ops in openapi_paths(service).values() for method in ops}

    assert methods <= {"get", "post"}


@pytest.mark.parametrize(
    ("service", "route"), [(s, r) for s in SERVICES for r in COMMAND_ROUTES[s]]
)
def test_every_command_route_records_a_catalogue_event_some_role_may_record(service, route):
    recorded = event_type(service, route)

    assert recorded in CATALOGUE
    assert COMMAND_ROLES[recorded], f"no role may use POST {route} of {service}"


def test_every_event_a_role_may_record_has_a_route_and_every_automatic_one_has_none():
    routed = {event_type(s, r) for s in SERVICES for r in COMMAND_ROUTES[s]}
    recordable = {t for t, roles in COMMAND_ROLES.items() if roles}

    assert routed == recordable


def test_every_catalogue_event_type_has_an_entry_in_the_command_table_and_no_other():
    assert set(COMMAND_ROLES) == CATALOGUE


def test_every_role_of_the_command_table_is_a_known_role():
    assert set().union(*COMMAND_ROLES.values()) <= ROLES


@pytest.mark.parametrize("event", sorted(CATALOGUE))
def test_every_catalogue_event_type_is_visible_to_auditors(event):
    assert may_see("auditor", event)


def test_every_role_has_a_visibility_entry_naming_only_catalogue_types():
    assert set(VISIBLE_TYPES) == ROLES
    for role, visible in VISIBLE_TYPES.items():
        assert visible == ALL or set(visible) <= CATALOGUE, role


def test_every_redacted_field_exists_in_an_event_type_the_role_may_see():
    for role, by_event in REDACTED_FIELDS.items():
        assert role in ROLES
        for event, fields in by_event.items():
            assert may_see(role, event), (role, event)
            for dotted in fields:
                assert _has_field(by_type(event), dotted), (role, event, dotted)


def test_every_service_has_readers_and_every_reader_is_a_known_role():
    assert set(SERVICE_READERS) == set(ALL_SERVICES)
    for service, readers in SERVICE_READERS.items():
        assert readers, service
        assert readers <= ROLES, service
    assert SEALED_CASE_READERS <= ROLES


def test_routes_that_narrow_their_readers_narrow_them_within_the_service_readers():
    for (service, route), readers in NARROWED_READERS.items():
        assert route in READ_ROUTES[service]
        assert readers <= SERVICE_READERS[service], (service, route)


def _has_field(model: type[BaseModel] | None, dotted: str) -> bool:
    for part in dotted.split("."):
        if model is None or part not in model.model_fields:
            return False
        model = _model_in(model.model_fields[part].annotation)
    return True


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (`Person`, `Person | None`, `tuple[Person, ...]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
