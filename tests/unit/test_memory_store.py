"""The in-memory store of the fast tier keeps the promises the PostgreSQL one makes with its
tables' keys: an inbound event is processed once, an idempotency key answers its first request,
an erased case's key is gone for good. What it cannot answer (views) it refuses to answer.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from services.intake.application import IntakeApplication
from shared.events.intake import ArrestRecorded
from shared.events.personal import KeyErasedError
from shared.kit.errors import IdempotencyMismatchError
from shared.kit.memory import MemoryKeyStore, NoViewsError
from shared.kit.store import CommandContext, IntegrityError
from tests.support import arrest_payload

ARREST = ArrestRecorded.model_validate(arrest_payload())


def keyed(key: str, fingerprint: str) -> CommandContext:
    return CommandContext(
        actor="officer-1", agency="police", idempotency_key=key, fingerprint=fingerprint
    )


def test_an_inbound_event_seen_again_refuses_the_whole_write(intake: IntakeApplication) -> None:
    inbound = ("release-orders", uuid4())
    intake.record_inbound_only(*inbound, [])
    case_id = UUID(str(intake.record_arrest(ARREST, CommandContext.system()).case_id))
    case = intake.repository.get(case_id)
    case.note_release_order(uuid4(), "bail", ARREST.arrested_at, uuid4())

    with pytest.raises(IntegrityError):
        intake.commit(CommandContext.system(), case, inbound=inbound)

    assert intake.has_processed(*inbound)
    assert intake.repository.get(case_id).version == 1


def test_an_idempotency_key_answers_its_first_request_only(intake: IntakeApplication) -> None:
    first = intake.record_arrest(ARREST, keyed("key-1", "request-a"))

    with pytest.raises(IntegrityError):
        intake.record_arrest(ARREST, keyed("key-1", "request-a"))

    assert intake.replayed_response("key-1", "request-a") == (201, first.body())
    with pytest.raises(IdempotencyMismatchError):
        intake.replayed_response("key-1", "request-b")
    assert intake.replayed_response("key-2", "request-a") is None


def test_an_erased_key_is_gone_for_good() -> None:
    keys = MemoryKeyStore()
    key_id, key = keys.key_for_writing("case-1")
    assert keys.key("case-1", key_id) == key

    assert keys.erase("case-1") is True
    assert keys.erase("case-1") is False
    with pytest.raises(KeyErasedError):
        keys.key("case-1", key_id)
    with pytest.raises(KeyErasedError):
        keys.key_for_writing("case-1")
    assert keys.erase("case-never-keyed") is True


def test_the_views_are_not_kept_and_say_so(intake: IntakeApplication) -> None:
    assert intake.view_tables == []

    with pytest.raises(NoViewsError, match="needs PostgreSQL"):
        intake.fetch("SELECT 1")
