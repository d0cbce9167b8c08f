"""The access tests share one running set of the four event-sourced services (package-wide):
every check works on states of its own (fresh cases, programmes, agencies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.kit.testing import Servers
from tests.access.world import World, world_of


@pytest.fixture(scope="package")
def world(servers: Servers) -> Iterator[World]:
    with world_of(servers) as running_world:
        yield running_world
