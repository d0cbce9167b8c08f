"""A breach of a legal limit is recorded exactly once: across a restart of judicial, when the
limit passed while judicial was down (it catches up at start), and with two judicial processes
checking at the same moment. The clock travels; nothing sleeps."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

from services.intake.service import create_app as intake_app
from services.judicial.application import JudicialApplication
from services.judicial.service import create_app as judicial_app
from shared.kit.clock import Clock
from tests.judicial.pathway import HOUR, Stack, stack_of
from tests.support import eventually, running

PAST_THE_LIMIT = timedelta(hours=49)


def breaches(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    return list(stack.view(stack.judicial, case_id)["breaches"])


def test_a_restart_of_judicial_records_no_second_breach(settings):
    clock = Clock()
    with running(intake_app(settings, clock)) as intake:
        with running(judicial_app(settings, clock)) as judicial:
            stack = Stack(settings, clock, intake, judicial)
            case_id = stack.case_in_custody(stack.now() - HOUR)
            clock.travel(PAST_THE_LIMIT)
            assert stack.judicial_app.detect_breaches() == [UUID(case_id)]

        with running(judicial_app(settings, clock)) as judicial:
            stack = Stack(settings, clock, intake, judicial)

            again = stack.judicial_app.detect_breaches()

            assert again == []
            assert len(breaches(stack, case_id)) == 1


def test_a_limit_that_passed_while_judicial_was_down_is_caught_up_at_start(settings):
    clock = Clock()
    with running(intake_app(settings, clock)) as intake:
        with running(judicial_app(settings, clock)) as judicial:
            case_id = Stack(settings, clock, intake, judicial).case_in_custody(clock.now() - HOUR)
        clock.travel(PAST_THE_LIMIT)

        with running(judicial_app(settings, clock)) as judicial:
            stack = Stack(settings, clock, intake, judicial)

            [breach] = eventually(lambda: breaches(stack, case_id), timeout=15)
            expected = stack.view(intake, case_id)["custody"]["until"]
            counted = eventually(
                lambda: "caseline_deadline_breaches_total 1.0" in judicial.get("/metrics").text
            )

    assert (breach["deadline_kind"], breach["expired_at"]) == ("custody", expected)
    assert counted


def test_two_judicial_processes_checking_at_once_record_one_breach(settings):
    clock = Clock()
    with stack_of(settings, clock) as stack, running(judicial_app(settings, clock)) as second:
        case_id = stack.case_in_custody(stack.now() - HOUR)
        clock.travel(PAST_THE_LIMIT)
        apps: list[JudicialApplication] = [stack.judicial_app, second.app.state.parts.application]
        start = threading.Barrier(len(apps))
        found: list[list[UUID]] = []

        def check(app: JudicialApplication) -> None:
            start.wait()
            found.append(app.detect_breaches())

        threads = [threading.Thread(target=check, args=(app,)) for app in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert sorted(len(f) for f in found) == [0, 1]
        assert len(breaches(stack, case_id)) == 1
