"""What tests of every area share: request bodies, tokens, waiting, running an app.

Helpers of one area stay in it (`tests/access/world.py`, `tests/faults/harness.py`, …); NATS and
envelopes are in `tests.support.bus`, the database behind a service's back in
`tests.support.database`, ledger entries in `tests.support.ledger`. The servers themselves come
from the kit's pytest plugin (`shared.kit.testing`), started only when a test asks for them.
"""

from tests.support.apps import running, serving
from tests.support.payloads import (
    OUSMANE_ARABIC,
    OUSMANE_LATIN,
    admission_payload,
    arrest_payload,
)
from tests.support.tokens import TEST_FACILITY, auth, token_for
from tests.support.waiting import eventually

__all__ = [
    "OUSMANE_ARABIC",
    "OUSMANE_LATIN",
    "TEST_FACILITY",
    "admission_payload",
    "arrest_payload",
    "auth",
    "eventually",
    "running",
    "serving",
    "token_for",
]
