"""The ledger's canonical bytes are RFC 8785 (the `rfc8785` package's output) for every value."""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.ledger.store import canonical_json

KEYS = st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_canonical_bytes_are_the_rfc8785_bytes(value):
    assert canonical_json(value) == rfc8785.dumps(value)


def test_the_awkward_cases_are_rfc8785_too():
    values = [
        {"\U0001f600": 1, "\uffff": 2, "a": 3},  # keys sorted by UTF-16 code units
        {"n": 100.0, "m": 1e-7, "k": 1e21},  # ES6 number formatting
        {"s": '\x00\x1f\x7f\u2028\b\f\n\r\t"\\/é'},
        {"deep": [[[{"b": [], "a": {}}]]]},
        [9007199254740991, -9007199254740991, True, False, None],
    ]

    for value in values:
        assert canonical_json(value) == rfc8785.dumps(value), value
