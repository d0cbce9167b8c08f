"""The `pattern` the schemas state for free texts, query texts and ids is exactly what is
refused."""

from __future__ import annotations

import re

import jsonschema_rs
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from shared.events.base import TEXT_PATTERN, LongText
from shared.kit.errors import CaselineError
from shared.kit.params import QUERY_TEXT_PATTERN, has_control
from shared.kit.scope import ID_PATTERN, canonical_id

LONG_TEXT = TypeAdapter(LongText)
# Characters around the edges of every class the patterns name, and beyond.
EDGES = st.characters(codec="utf-8") | st.sampled_from(
    "\x00\x08\t\n\x0b\x0c\r\x0e\x1f \x7f\x85\xa0\u1680\u2000\u200a\u200b\u2028\u2029"
    "\u202f\u205f\u3000\ufeffa"
)
TEXTS = st.text(EDGES, min_size=1, max_size=12)
_UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
# Spellings of an id, and near misses: a character dropped, doubled or added at either end.
ID_TEXTS = st.builds(
    lambda prefix, body, cut, extra, suffix: prefix + body[:cut] + extra + body[cut:] + suffix,
    st.sampled_from(["", "{", "urn:uuid:", "uuid:", "urn:uuid:{", " "]),
    st.sampled_from([_UUID, _UUID.upper(), _UUID.replace("-", ""), _UUID[:-1]]),
    st.integers(0, 36),
    st.sampled_from(["", "-", "0", "g", "\n"]),
    st.sampled_from(["", "}", "\n", "0"]),
)


def _accepted(value: str) -> bool:
    try:
        LONG_TEXT.validate_python(value)
    except ValidationError:
        return False
    return True


@given(TEXTS)
def test_a_text_matches_the_schema_pattern_exactly_when_it_is_accepted(value: str) -> None:
    by_python = re.search(TEXT_PATTERN, value) is not None
    by_validators = jsonschema_rs.validator_for({"pattern": TEXT_PATTERN}).is_valid(value)

    assert by_python == by_validators == _accepted(value)


@given(TEXTS)
def test_a_query_text_matches_its_pattern_exactly_when_it_has_no_control(value: str) -> None:
    by_python = re.search(QUERY_TEXT_PATTERN, value) is not None
    by_validators = jsonschema_rs.validator_for({"pattern": QUERY_TEXT_PATTERN}).is_valid(value)

    assert by_python == by_validators == (not has_control(value))


def test_a_lone_surrogate_is_refused_though_no_portable_pattern_names_it() -> None:
    assert not _accepted("a\ud800b")


def _id_accepted(value: str) -> bool:
    try:
        canonical_id(value)
    except CaselineError:
        return False
    return True


@given(ID_TEXTS)
def test_an_id_matches_its_pattern_exactly_when_it_is_read(value: str) -> None:
    by_python = re.search(ID_PATTERN, value) is not None
    by_validators = jsonschema_rs.validator_for({"pattern": ID_PATTERN}).is_valid(value)

    assert by_python == by_validators == _id_accepted(value)
