"""A release is recorded by the prison that holds the person, only under a release order judicial
made (learnt over the bus), once, and not before the order takes effect; the release names the
order as its cause."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.events import DetaineeReleased
from tests.judicial.pathway import assert_refused, iso
from tests.support import eventually


def held_case(stack) -> str:
    """A charged case whose person the tests' prison admitted."""
    case_id = stack.charged_case()
    admitted = stack.admit(case_id)
    assert admitted.status_code == 201, admitted.text
    return case_id


def test_a_release_without_an_order_from_judicial_is_refused(stack):
    case_id = stack.open_case()
    assert stack.admit(case_id).status_code == 201
    before = stack.version(stack.intake, case_id)

    response = stack.release(case_id, str(uuid.uuid4()))

    assert_refused(response, "release-without-order", "needs a release order")
    assert stack.version(stack.intake, case_id) == before


def test_a_release_under_an_order_is_recorded_and_judicial_learns_it(stack):
    case_id = held_case(stack)
    order_id = stack.order_release(case_id).json()["release_order_id"]
    stack.intake_knows_order(case_id, order_id)

    response = stack.release(case_id, order_id)

    assert response.status_code == 201, response.text
    view = stack.view(stack.intake, case_id)
    assert (view["status"], view["release_order_id"]) == ("released", order_id)
    judged = stack.judicial_learnt(case_id, lambda v: v["released_at"] is not None)
    assert judged["release_orders"][0]["executed"] is True


def test_a_person_is_released_once(stack):
    case_id, order_id = stack.released_case()
    before = stack.version(stack.intake, case_id)

    response = stack.release(case_id, order_id)
    again = DetaineeReleased(released_at=stack.now(), release_order_id=uuid.UUID(order_id))
    rule = stack.rule_refusing(
        lambda ctx: stack.intake_app.release(uuid.UUID(case_id), again, ctx), "prison_registry"
    )

    # The prison that released the person holds them no more: for it the case is gone.
    assert response.status_code == 404, response.text
    assert rule.rule == "already-released"
    assert "already released" in rule.detail
    assert stack.version(stack.intake, case_id) == before


def test_a_release_cannot_precede_the_order_taking_effect(stack):
    case_id = held_case(stack)
    effective = stack.now() + timedelta(hours=2)
    order_id = stack.order_release(case_id, effective_at=iso(effective)).json()["release_order_id"]
    stack.intake_knows_order(case_id, order_id)
    before = stack.version(stack.intake, case_id)

    response = stack.release(case_id, order_id)

    assert_refused(response, "release-before-order-effective", "takes effect")
    assert stack.version(stack.intake, case_id) == before


def test_an_order_voided_in_judicial_no_longer_allows_the_release(stack):
    case_id = held_case(stack)
    order = stack.order_release(case_id).json()
    stack.intake_knows_order(case_id, order["release_order_id"])
    assert stack.void(stack.judicial, order["event_id"], "judge").status_code == 201

    def withdrawn():
        orders = stack.view(stack.intake, case_id)["release_orders"]
        return orders and orders[0]["withdrawn"]

    eventually(withdrawn, timeout=15)
    before = stack.version(stack.intake, case_id)

    response = stack.release(case_id, order["release_order_id"])

    assert_refused(response, "release-without-order", "needs a release order")
    assert stack.version(stack.intake, case_id) == before
