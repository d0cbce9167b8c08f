"""Fixtures of the judicial tests: intake and judicial running for a whole module (rule tests
open their own cases, so they share the services)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.kit.testing import Servers
from tests.judicial.pathway import Stack, module_settings, stack_of


@pytest.fixture(scope="module")
def stack(servers: Servers) -> Iterator[Stack]:
    with stack_of(module_settings(servers)) as running_stack:
        yield running_stack
