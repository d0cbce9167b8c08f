"""The rules a list follows besides its items' sources: a judicial stage is told only as far as
the reader may see it (`services.judicial.queries.shown_stage`), and a filter selects only by
what the reader may see (`shared.kit.redaction.require_filters`)."""

from __future__ import annotations

import pytest

from services.assessment.queries import CASE_FILTER_SOURCES
from services.judicial.queries import STAGES, shown_stage
from shared.kit.errors import ForbiddenError
from shared.kit.redaction import ALWAYS, require_filters
from shared.permissions import ROLES, SERVICE_READERS, may_see


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stage_is_told_only_if_the_role_may_see_what_set_it(stage, role):
    shown = shown_stage(stage, role)

    assert shown is None or may_see(role, STAGES[shown][0])


@pytest.mark.parametrize("role", sorted(SERVICE_READERS["judicial"]))
def test_every_reader_of_judicial_is_told_some_stage(role):
    assert all(shown_stage(stage, role) for stage in STAGES)


@pytest.mark.parametrize(
    ("stage", "role", "shown"),
    [
        ("pre_trial_detention", "judge", "pre_trial_detention"),
        ("pre_trial_detention", "social_worker", "arrested"),
        ("charged", "social_worker", "arrested"),
        ("in_custody", "social_worker", "arrested"),
        ("judged", "social_worker", "judged"),
        ("sentenced", "police", "judged"),
        ("sentenced", "social_worker", "sentenced"),
        ("pre_trial_detention", "civil_society", "arrested"),
        ("charged", "nobody", None),
        ("a stage not yet known", "auditor", None),
    ],
)
def test_a_hidden_stage_falls_back_to_the_latest_the_case_surely_passed_that_the_role_sees(
    stage, role, shown
):
    assert shown_stage(stage, role) == shown


def test_a_filter_on_a_hidden_field_is_refused():
    with pytest.raises(ForbiddenError) as refused:
        require_filters("social_worker", CASE_FILTER_SOURCES, facility="Prison", risk="high")

    assert refused.value.template == "role {role!r} may not filter by {field}"
    assert refused.value.params == {"role": "social_worker", "field": "risk"}


def test_a_filter_not_given_or_on_a_visible_field_is_allowed():
    require_filters("social_worker", CASE_FILTER_SOURCES, facility="Prison", risk=None)
    require_filters("assessor", CASE_FILTER_SOURCES, facility="Prison", risk="high")


def test_an_undeclared_filter_is_refused_even_to_an_auditor():
    with pytest.raises(ForbiddenError):
        require_filters("auditor", {"status": ALWAYS}, secret="x")
