"""Test helpers for the legal pathway: intake and judicial running together on one database and
stream, payloads dated around an injectable clock, and the steps that bring a case to a stage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest

from services.intake.service import create_app as intake_app
from services.judicial.service import create_app as judicial_app
from shared.kit.clock import Clock
from shared.kit.errors import RuleViolation
from shared.kit.settings import Settings
from shared.kit.store import CommandContext
from shared.kit.testing import Servers, settings_for
from tests.support import TEST_FACILITY, arrest_payload, auth, eventually, running

__all__ = ["Stack", "assert_refused", "iso", "module_settings", "stack_of"]

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def iso(value: datetime) -> str:
    return value.isoformat()


def module_settings(servers: Servers, **overrides: Any) -> Settings:
    """Settings on a fresh database, stream and prefix, for fixtures wider than one test."""
    # The checker runs at start-up; tests call it themselves after moving the clock.
    return settings_for(servers, **{"deadline_check_seconds": 3600, **overrides})


class Stack:
    """Intake and judicial test clients, with role headers and the steps of a case."""

    def __init__(self, settings: Settings, clock: Clock, intake: Any, judicial: Any) -> None:
        self.settings, self.clock, self.intake, self.judicial = settings, clock, intake, judicial

    def h(self, role: str, *, facility: str | None = None, **extra: str) -> dict[str, str]:
        """Headers of `role` (prison staff of `facility`, by default the tests' own prison)."""
        return {**auth(self.settings, role, facility=facility), **extra}

    @property
    def judicial_app(self) -> Any:
        return self.judicial.app.state.parts.application

    @property
    def intake_app(self) -> Any:
        return self.intake.app.state.parts.application

    def rule_refusing(self, command: Callable[[CommandContext], Any], role: str) -> RuleViolation:
        """The rule that refuses `command` run by an application itself for `role` (of its
        default agency), beneath the case scope: a rule the scope now hides from every caller
        who may record the entry (a released person is no prison's) still holds."""
        ctx = CommandContext(actor=f"{role}-1", agency=f"{role}-agency", role=role)
        with pytest.raises(RuleViolation) as refused:
            command(ctx)
        return refused.value

    def now(self) -> datetime:
        return self.clock.now()

    # --- reads ----------------------------------------------------------------------------

    def version(self, client: Any, case_id: str) -> int:
        response = client.get(f"/cases/{case_id}", headers=self.h("auditor"))
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    def view(self, client: Any, case_id: str) -> dict[str, Any]:
        response = client.get(f"/cases/{case_id}", headers=self.h("auditor"))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def judicial_learnt(self, case_id: str, predicate: Any = None) -> dict[str, Any]:
        """Wait until judicial's view of the case exists (and satisfies `predicate`)."""

        def ready() -> Any:
            response = self.judicial.get(f"/cases/{case_id}", headers=self.h("auditor"))
            if response.status_code != 200:
                return None
            view = response.json()
            return view if predicate is None or predicate(view) else None

        return dict(eventually(ready, timeout=15))

    def intake_knows_order(self, case_id: str, order_id: str) -> None:
        eventually(
            lambda: any(
                o["release_order_id"] == order_id and not o["withdrawn"]
                for o in self.view(self.intake, case_id)["release_orders"]
            ),
            timeout=15,
        )

    # --- steps ----------------------------------------------------------------------------

    def post(
        self,
        client: Any,
        path: str,
        role: str,
        body: dict[str, Any],
        *,
        facility: str | None = None,
        **headers: str,
    ) -> Any:
        return client.post(path, json=body, headers=self.h(role, facility=facility, **headers))

    def open_case(self, **overrides: Any) -> str:
        body = arrest_payload(**{"arrested_at": iso(self.now() - 3 * HOUR), **overrides})
        response = self.post(self.intake, "/cases", "police", body)
        assert response.status_code == 201, response.text
        return str(response.json()["case_id"])

    def custody(self, case_id: str, started_at: datetime | None = None, **extra: Any) -> Any:
        body = {
            "started_at": iso(started_at or self.now() - 2 * HOUR),
            "legal_basis": "CPP art. 76 al. 3: terrorism",
            **extra,
        }
        return self.post(self.intake, f"/cases/{case_id}/custody", "police", body)

    def case_in_custody(self, started_at: datetime | None = None) -> str:
        case_id = self.open_case()
        response = self.custody(case_id, started_at)
        assert response.status_code == 201, response.text
        self.judicial_learnt(case_id, lambda v: v["custody"] is not None)
        return case_id

    def charges(self, case_id: str, **extra: Any) -> Any:
        body = {
            "offences": [
                {
                    "code": "TERR-1",
                    "description": "Membership of a terrorist group",
                    "law_ref": "Loi n° 2008-025 art. 3",
                }
            ],
            "prosecutor": "Procureur du pôle judiciaire spécialisé",
            "filed_at": iso(self.now() - HOUR),
            **extra,
        }
        return self.post(self.judicial, f"/cases/{case_id}/charges", "prosecutor", body)

    def charged_case(self) -> str:
        case_id = self.case_in_custody()
        response = self.charges(case_id)
        assert response.status_code == 201, response.text
        return case_id

    def order_detention(
        self, case_id: str, ordered_at: datetime | None = None, **extra: Any
    ) -> Any:
        body = {
            "ordered_by": "Juge d'instruction du pôle",
            "ordered_at": iso(ordered_at or self.now() - 30 * timedelta(minutes=1)),
            "legal_basis": "CPP art. 135",
            **extra,
        }
        return self.post(self.judicial, f"/cases/{case_id}/detention-orders", "judge", body)

    def detained_case(self, ordered_at: datetime | None = None, **extra: Any) -> str:
        case_id = self.charged_case()
        response = self.order_detention(case_id, ordered_at, **extra)
        assert response.status_code == 201, response.text
        return case_id

    def verdict(self, case_id: str, outcome: str = "convicted", **extra: Any) -> Any:
        body = {
            "outcome": outcome,
            "court": "Cour d'assises spéciale, Bamako",
            "delivered_at": iso(self.now() - 10 * timedelta(minutes=1)),
            **extra,
        }
        if outcome == "convicted":
            body.setdefault("offences_proven", ["TERR-1"])
        return self.post(self.judicial, f"/cases/{case_id}/verdict", "judge", body)

    def sentence(self, case_id: str, **extra: Any) -> Any:
        body = {
            "term_days": 365,
            "starts_on": (self.now() - 400 * DAY).date().isoformat(),
            "credit_for_time_served_days": 120,
            **extra,
        }
        return self.post(self.judicial, f"/cases/{case_id}/sentence", "judge", body)

    def admit(self, case_id: str, facility: str = TEST_FACILITY, **extra: Any) -> Any:
        """The registry of `facility` admits the person there."""
        body = {
            "facility": facility,
            "admitted_at": iso(self.now() - 20 * timedelta(minutes=1)),
            "warrant_ref": "MD-2026-0042",
            **extra,
        }
        path = f"/cases/{case_id}/admission"
        return self.post(self.intake, path, "prison_registry", body, facility=facility)

    def order_release(self, case_id: str, kind: str = "bail", **extra: Any) -> Any:
        body = {"kind": kind, "effective_at": iso(self.now() - 5 * timedelta(minutes=1)), **extra}
        return self.post(self.judicial, f"/cases/{case_id}/release-orders", "judge", body)

    def release(
        self, case_id: str, order_id: str, *, facility: str = TEST_FACILITY, **extra: Any
    ) -> Any:
        """The registry of `facility` (the prison that holds the person) releases them."""
        body = {
            "released_at": iso(self.now() - timedelta(minutes=1)),
            "release_order_id": order_id,
            **extra,
        }
        path = f"/cases/{case_id}/release"
        return self.post(self.intake, path, "prison_registry", body, facility=facility)

    def released_case(self) -> tuple[str, str]:
        """A case whose person the tests' prison admitted, then released on bail; returns
        (case_id, release_order_id)."""
        case_id = self.charged_case()
        admitted = self.admit(case_id)
        assert admitted.status_code == 201, admitted.text
        order = self.order_release(case_id)
        assert order.status_code == 201, order.text
        order_id = order.json()["release_order_id"]
        self.intake_knows_order(case_id, order_id)
        response = self.release(case_id, order_id)
        assert response.status_code == 201, response.text
        return case_id, order_id

    def void(
        self,
        client: Any,
        event_id: str,
        role: str,
        reason: str = "recorded in error",
        *,
        facility: str | None = None,
    ) -> Any:
        path = f"/entries/{event_id}/void"
        return self.post(client, path, role, {"reason": reason}, facility=facility)


@contextmanager
def stack_of(settings: Settings, clock: Clock | None = None) -> Iterator[Stack]:
    """Intake and judicial running on `settings`, sharing `clock`."""
    clock = clock or Clock()
    with ExitStack() as apps:
        intake = apps.enter_context(running(intake_app(settings, clock)))
        judicial = apps.enter_context(running(judicial_app(settings, clock)))
        yield Stack(settings, clock, intake, judicial)


def assert_refused(response: Any, rule: str, *words: str) -> None:
    """A 409 problem naming `rule`, whose detail says `words`."""
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["type"].endswith(f"/{rule}"), problem
    for word in words:
        assert word in problem["detail"], problem
