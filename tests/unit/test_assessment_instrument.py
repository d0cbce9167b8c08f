"""Assessment's `Instrument`, built directly and driven by random publications (no store).

What the domain promises: a new instrument starts at version 1, versions follow one another
without gaps, a published version never changes (a republication of it is refused), any
published version can still be read, and replay rebuilds the same instrument.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from services.assessment.domain import Instrument
from services.assessment.domain.errors import AssessmentError, UnknownInstrumentError
from shared.events.assessment import InstrumentPublished
from tests.unit.machines import Events, at, attempt, meta


def publication(instrument_id: UUID, version: int, title: str, indicators: int) -> Any:
    return InstrumentPublished.model_validate(
        {
            "instrument_id": str(instrument_id),
            "version": version,
            "title": title,
            "domains": [
                {
                    "id": "D",
                    "title": "Domain",
                    "indicators": [
                        {"id": f"I{n}", "text": f"Item {n}", "scale": {"min": 0, "max": 3}}
                        for n in range(indicators)
                    ],
                }
            ],
        }
    )


titles = st.sampled_from(["ERG 22+", "VERA-2R", "Local screening"])


class PublishedInstrument(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.events = Events()
        self.published: dict[int, Any] = {}

    @initialize(first=st.integers(0, 3), title=titles, indicators=st.integers(1, 4))
    def create(self, first: int, title: str, indicators: int) -> None:
        """A new instrument; one that would not start at version 1 is refused first."""
        self.instrument_id = uuid4()
        if first != 1:
            data = publication(self.instrument_id, max(first, 1) + 1, title, indicators)
            assert not attempt(False, lambda: Instrument.first(data, meta()), AssessmentError)
        data = publication(self.instrument_id, 1, title, indicators)
        self.instrument = Instrument.first(data, meta())
        self.events.collect(self.instrument)
        self.published[1] = data

    @rule(offset=st.integers(-3, 2), title=titles, indicators=st.integers(1, 4))
    def publish(self, offset: int, title: str, indicators: int) -> None:
        """A version `offset` from the next one (0: the next)."""
        version = max(1, len(self.published) + 1 + offset)
        data = publication(self.instrument_id, version, title, indicators)
        allowed = version == len(self.published) + 1
        made = meta(when=at(len(self.events.recorded)))
        if attempt(allowed, lambda: self.instrument.publish(data, made), AssessmentError):
            self.events.collect(self.instrument)
            self.published[version] = data

    @rule(version=st.integers(0, 12))
    def read_a_version(self, version: int) -> None:
        if version in self.published:
            read = self.instrument.version_of(version)
            assert (read.version, read.title) == (version, self.published[version].title)
            assert set(read.scales) == {
                i.id for d in self.published[version].domains for i in d.indicators
            }
        else:
            assert not attempt(
                False, lambda: self.instrument.version_of(version), UnknownInstrumentError
            )

    @invariant()
    def versions_run_from_one_without_gaps_and_never_change(self) -> None:
        assert sorted(self.instrument.versions) == list(range(1, len(self.published) + 1))
        assert self.instrument.versions == self.published
        assert self.instrument.latest == len(self.published)
        assert self.instrument.version_of().version == self.instrument.latest

    @invariant()
    def replay_rebuilds_the_same_instrument(self) -> None:
        self.events.assert_replay_equals(self.instrument)


TestPublishedInstrument = PublishedInstrument.TestCase
TestPublishedInstrument.settings = settings(max_examples=100, stateful_step_count=20, deadline=None)
