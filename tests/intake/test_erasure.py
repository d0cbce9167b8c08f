"""Erasure is a legal act: it executes a judicial erasure order (learnt over the bus), once the
person is released, asked for by one person and confirmed by a second; the case's key is destroyed
only after the erasure is on record, and a crash between the two is finished on restart."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.intake.application import IntakeApplication
from shared.kit.store import CommandContext
from tests.judicial.pathway import Stack, assert_refused
from tests.support import eventually

FIRST = "admin-first"
SECOND = "admin-second"


def order_erasure(stack: Stack, case_id: str, role: str = "judge") -> Any:
    body = {"order_reference": "TGI Bamako n° 2031/17", "legal_basis": "Loi 2013-015 art. 12"}
    return stack.post(stack.judicial, f"/cases/{case_id}/erasure-orders", role, body)


def intake_knows_erasure_order(stack: Stack, case_id: str, order_id: str) -> None:
    eventually(
        lambda: any(
            o["erasure_order_id"] == order_id and not o["withdrawn"]
            for o in stack.view(stack.intake, case_id)["erasure_orders"]
        ),
        timeout=15,
    )


def ordered(stack: Stack, case_id: str) -> str:
    """A judicial erasure order for the case, once intake knows it; its id."""
    response = order_erasure(stack, case_id)
    assert response.status_code == 201, response.text
    order_id = str(response.json()["erasure_order_id"])
    intake_knows_erasure_order(stack, case_id, order_id)
    return order_id


def request(stack: Stack, case_id: str, order_id: str, sub: str = FIRST) -> Any:
    body = {"erasure_order_id": order_id, "reason": "Acquitted; the court ordered erasure"}
    return stack.intake.post(
        f"/cases/{case_id}/erasure-requests", json=body, headers=_admin(stack, sub)
    )


def confirm(stack: Stack, case_id: str, order_id: str, sub: str = SECOND) -> Any:
    return stack.intake.post(
        f"/cases/{case_id}/erasure",
        json={"erasure_order_id": order_id},
        headers=_admin(stack, sub),
    )


def _admin(stack: Stack, sub: str) -> dict[str, str]:
    from tests.support import auth

    return auth(stack.settings, "admin", sub=sub)


def full_name(stack: Stack, case_id: str) -> str:
    return str(stack.view(stack.intake, case_id)["person"]["full_name"])


def test_only_a_judge_records_an_erasure_order(stack):
    case_id = stack.open_case()

    by_admin = order_erasure(stack, case_id, role="admin")
    by_prosecutor = order_erasure(stack, case_id, role="prosecutor")

    assert (by_admin.status_code, by_prosecutor.status_code) == (403, 403)


def test_an_erasure_without_a_judicial_order_is_refused(stack):
    case_id, _ = stack.released_case()
    before = stack.version(stack.intake, case_id)

    asked = request(stack, case_id, str(uuid.uuid4()))
    confirmed = confirm(stack, case_id, str(uuid.uuid4()))

    assert_refused(asked, "erasure-without-order", "needs a recorded judicial order")
    assert_refused(confirmed, "erasure-without-order")
    assert stack.version(stack.intake, case_id) == before


def test_an_erasure_is_refused_while_the_person_is_in_custody_or_detention(stack):
    arrested = stack.open_case()
    in_custody = stack.case_in_custody()
    held = stack.charged_case()
    assert stack.admit(held).status_code == 201
    refusals = []
    for case_id in (arrested, in_custody, held):
        order_id = ordered(stack, case_id)
        refusals.append(request(stack, case_id, order_id))

    for response in refusals:
        assert_refused(response, "erasure-in-custody", "until the release is recorded")
    assert full_name(stack, held) != "[erased]"


def test_the_person_who_asked_cannot_confirm_and_nothing_is_erased(stack):
    case_id, _ = stack.released_case()
    order_id = ordered(stack, case_id)
    assert request(stack, case_id, order_id).status_code == 201
    before = stack.version(stack.intake, case_id)

    same = confirm(stack, case_id, order_id, sub=FIRST)
    again = request(stack, case_id, order_id, sub=SECOND)

    assert_refused(same, "erasure-by-one-person", "a second, different person")
    assert_refused(again, "erasure-already-requested", FIRST)
    assert stack.version(stack.intake, case_id) == before
    assert full_name(stack, case_id) != "[erased]"


def test_a_confirmation_needs_a_request_for_that_order(stack):
    case_id, _ = stack.released_case()
    order_id = ordered(stack, case_id)

    response = confirm(stack, case_id, order_id)

    assert_refused(response, "erasure-not-requested", "one person requests it")
    assert full_name(stack, case_id) != "[erased]"


def test_a_second_person_confirms_and_the_personal_data_is_erased_once(stack):
    case_id, _ = stack.released_case()
    order_id = ordered(stack, case_id)
    assert request(stack, case_id, order_id).status_code == 201

    confirmed = confirm(stack, case_id, order_id)
    twice = confirm(stack, case_id, order_id, sub="admin-third")

    assert confirmed.status_code == 201, confirmed.text
    assert full_name(stack, case_id) == "[erased]"
    assert "already erased" in twice.json()["detail"]
    assert stack.view(stack.intake, case_id)["status"] == "released"  # the record stays


def test_an_order_voided_in_judicial_no_longer_allows_the_erasure(stack):
    case_id, _ = stack.released_case()
    response = order_erasure(stack, case_id)
    order_id, order_event = response.json()["erasure_order_id"], response.json()["event_id"]
    intake_knows_erasure_order(stack, case_id, order_id)
    assert request(stack, case_id, order_id).status_code == 201

    assert stack.void(stack.judicial, order_event, "judge").status_code == 201
    eventually(
        lambda: all(o["withdrawn"] for o in stack.view(stack.intake, case_id)["erasure_orders"])
    )
    confirmed = confirm(stack, case_id, order_id)

    assert_refused(confirmed, "erasure-without-order")
    assert full_name(stack, case_id) != "[erased]"


# --- the key is destroyed only after the erasure is on record ----------------------------


class CrashError(Exception):
    """The process dies at this instant."""


def _requested_case(stack: Stack) -> tuple[str, str]:
    case_id, _ = stack.released_case()
    order_id = ordered(stack, case_id)
    assert request(stack, case_id, order_id).status_code == 201
    return case_id, order_id


def _confirm_in_process(stack: Stack, case_id: str, order_id: str) -> None:
    ctx = CommandContext(actor=SECOND, agency="admin-agency", role="admin")
    stack.intake_app.erase_personal_data(uuid.UUID(case_id), uuid.UUID(order_id), ctx)


def _pending(stack: Stack) -> list[str]:
    rows = stack.intake_app.fetch("SELECT case_id FROM {schema}.pending_erasures")
    return [str(r[0]) for r in rows]


def test_a_crash_before_the_erasure_commits_destroys_no_key(stack, monkeypatch):
    case_id, order_id = _requested_case(stack)
    app = stack.intake_app

    def crash(*_: Any, **__: Any) -> None:
        raise CrashError()

    monkeypatch.setattr(app, "commit", crash)
    with pytest.raises(CrashError):
        _confirm_in_process(stack, case_id, order_id)
    monkeypatch.undo()

    assert full_name(stack, case_id) != "[erased]"
    assert case_id not in _pending(stack)


def test_a_crash_between_the_erasure_and_the_key_destruction_is_finished_on_restart(
    stack, monkeypatch
):
    case_id, order_id = _requested_case(stack)
    app = stack.intake_app

    def crash(_: str) -> bool:
        raise CrashError()

    monkeypatch.setattr(app.keys, "erase", crash)
    with pytest.raises(CrashError):
        _confirm_in_process(stack, case_id, order_id)
    monkeypatch.undo()
    on_record = stack.view(stack.intake, case_id)
    alive = full_name(stack, case_id)

    restarted = IntakeApplication(stack.settings, stack.clock)
    restarted.shutdown()

    assert on_record["erasure_orders"][0]["erasure_order_id"] == order_id
    assert alive != "[erased]"  # the erasure is on record, the key not yet destroyed
    # The running service forgets its cached key within the cache's lifetime.
    assert eventually(lambda: full_name(stack, case_id) == "[erased]")
    assert case_id not in _pending(stack)
    assert_refused(confirm(stack, case_id, order_id, sub="admin-third"), "already-erased")
