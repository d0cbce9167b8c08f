"""Day rules count in the jurisdiction's calendar, not UTC's: in Niger (Africa/Niamey, UTC+1) half
past eleven at night UTC is already the next day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from shared.kit.jurisdiction import load_jurisdiction
from shared.kit.settings import Settings
from shared.kit.testing import Servers
from tests.judicial.pathway import Stack, assert_refused, iso, module_settings, stack_of


@pytest.fixture(scope="module")
def niger(servers: Servers) -> Iterator[Stack]:
    with stack_of(module_settings(servers, jurisdiction="niger")) as running_stack:
        yield running_stack


def _sentenced(stack: Stack, ends: date) -> str:
    """A convicted case whose sentence ends on `ends` (a local date)."""
    case_id = stack.charged_case()
    assert stack.verdict(case_id).status_code == 201
    starts = ends - timedelta(days=50)
    body = {"term_days": 50, "starts_on": starts.isoformat(), "credit_for_time_served_days": 0}
    response = stack.sentence(case_id, **body)
    assert response.status_code == 201, response.text
    return case_id


def test_a_release_at_2330_utc_on_the_eve_is_on_the_last_day_in_niamey(niger):
    ends = niger.now().date() - timedelta(days=20)
    case_id = _sentenced(niger, ends)
    # 23:30 UTC the day before is 00:30 in Niamey on the day the sentence ends.
    effective = datetime.combine(ends - timedelta(days=1), time(23, 30), tzinfo=UTC)

    response = niger.order_release(case_id, "sentence_served", effective_at=iso(effective))

    assert response.status_code == 201, response.text


def test_a_release_at_2230_utc_on_the_eve_is_before_the_last_day_in_niamey(niger):
    ends = niger.now().date() - timedelta(days=20)
    case_id = _sentenced(niger, ends)
    effective = datetime.combine(ends - timedelta(days=1), time(22, 30), tzinfo=UTC)

    response = niger.order_release(case_id, "sentence_served", effective_at=iso(effective))

    assert_refused(response, "release-before-sentence-ends", ends.isoformat())


def test_an_eighteenth_birthday_begins_at_midnight_in_niamey_not_in_utc():
    rules = load_jurisdiction(Settings(jurisdiction="niger"))
    born = date(2008, 3, 2)
    # 1 March 23:30 UTC is 2 March 00:30 in Niamey: the person is 18 there, 17 in UTC.
    arrested = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)

    assert rules.local_date(arrested) == date(2026, 3, 2)
    assert rules.minor_at(born, arrested) is False
    assert rules.minor_at(born, arrested - timedelta(hours=1)) is True
