"""Query parameters refuse what their schema does not allow, and nothing it allows."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shared.kit.params import InstantQuery

INSTANT = TypeAdapter(InstantQuery)


@pytest.mark.parametrize("text", ["0.5", "1700000000", "-1", "1e9", "tomorrow"])
def test_a_query_time_that_is_not_rfc_3339_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        INSTANT.validate_python(text)


@pytest.mark.parametrize("text", ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.5+01:00"])
def test_a_query_time_in_rfc_3339_is_read(text: str) -> None:
    assert INSTANT.validate_python(text).year == 2026
