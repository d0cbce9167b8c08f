"""The four event-sourced services and the ledger running together on one database and stream,
for the access tests: tokens (with the facility of prison staff), requests, probes of what a
refused command must leave unchanged, and a supply of fresh cases every service knows (opened
through intake, learnt by the others over the bus).
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import nats

from shared.events import CatalogueEvent, build_envelope, subject_for
from shared.kit.settings import Settings
from shared.kit.testing import TEST_STREAM_BYTES, Servers, fresh_database
from tests.access.routes import READ_SERVICES
from tests.support import (
    TEST_FACILITY,
    admission_payload,
    arrest_payload,
    auth,
    eventually,
    running,
)
from tests.support.bus import signed

__all__ = ["HOUR", "Attempt", "Entry", "World", "ago", "world_of"]

HOUR = timedelta(hours=1)
_BATCH = 8
_OTHERS = ("judicial", "assessment", "programmes")


def ago(delta: timedelta = HOUR) -> str:
    """A moment `delta` before now, in RFC 3339 (the services refuse times in the future)."""
    return (datetime.now(UTC) - delta).isoformat()


@dataclass(frozen=True)
class Attempt:
    """A command ready to be sent: the state it needs exists; `probe` reads what it changes."""

    service: str
    path: str
    body: dict[str, Any]
    probe: Callable[[], Any]
    sub: str | None = None
    agency: str | None = None
    expect: int = 201
    facility: str | None = None


@dataclass(frozen=True)
class Entry:
    """An entry recorded to be voided: its id, what its voiding changes, who may void it."""

    event_id: str
    probe: Callable[[], Any]
    agency: str | None = None


class World:
    """Clients of the running services and the steps that build the state a command needs."""

    def __init__(self, settings: Settings, clients: dict[str, Any]) -> None:
        self.settings = settings
        self.clients = clients
        self.shared: dict[Any, Any] = {}
        self._cases: list[str] = []

    # --- requests -------------------------------------------------------------------------

    def headers(
        self,
        role: str,
        sub: str | None = None,
        agency: str | None = None,
        facility: str | None = None,
    ) -> Any:
        return auth(self.settings, role, sub=sub, agency=agency, facility=facility)

    def post(self, service: str, path: str, body: dict[str, Any], role: str, **who: Any) -> Any:
        return self.clients[service].post(path, json=body, headers=self.headers(role, **who))

    def get(self, service: str, path: str, role: str, **who: Any) -> Any:
        return self.clients[service].get(path, headers=self.headers(role, **who))

    def send(self, attempt: Attempt, role: str) -> Any:
        """Send the attempt's command as `role`, with the attempt's user and agency."""
        return self.post(
            attempt.service,
            attempt.path,
            attempt.body,
            role,
            sub=attempt.sub,
            agency=attempt.agency,
            facility=attempt.facility,
        )

    def recorded(
        self, service: str, path: str, body: dict[str, Any], role: str, **who: Any
    ) -> dict[str, Any]:
        """Record a precondition; its answer (`event_id`, new ids)."""
        response = self.post(service, path, body, role, **who)
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())

    def settled(
        self, service: str, path: str, body: dict[str, Any], role: str, **who: Any
    ) -> dict[str, Any]:
        """Record a precondition that rests on a link another service brings over the bus (an
        admission, for a prison's command): sent again while it is refused as unknown (404, and
        nothing recorded), until the link has arrived."""

        def sent() -> Any:
            response = self.post(service, path, body, role, **who)
            return None if response.status_code == 404 else response

        response = self.until(sent)
        assert response.status_code == 201, (path, response.text)
        return dict(response.json())

    # --- probes: what an auditor reads ----------------------------------------------------

    def view(self, service: str, path: str) -> dict[str, Any]:
        response = self.get(service, path, "auditor", sub="probe")
        assert response.status_code == 200, (path, response.text)
        return dict(response.json())

    def version_of(self, service: str, path: str) -> Callable[[], int]:
        return lambda: int(self.view(service, path)["version"])

    def total_of(self, service: str, path: str) -> Callable[[], int]:
        return lambda: int(self.view(service, path)["total"])

    def audit(self, service: str, actor: str) -> list[dict[str, Any]]:
        """The read-audit entries of one user of a service."""
        response = self.clients[service].get(
            "/audit", params={"actor": actor}, headers=self.headers("auditor", sub="inspector")
        )
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    # --- cases ----------------------------------------------------------------------------

    def intake_case(self, agency: str | None = None, **fields: Any) -> str:
        """A case just opened in intake by police of `agency` (theirs to act on); the others
        learn of it in the background."""
        body = arrest_payload(arrested_at=ago(timedelta(days=3)), **fields)
        return str(self.recorded("intake", "/cases", body, "police", agency=agency)["case_id"])

    def known_everywhere(self, case_id: str, services: tuple[str, ...] = _OTHERS) -> str:
        """The case, once every one of `services` knows it."""
        for service in services:
            self.until(lambda s=service: self._knows(s, case_id))
        return case_id

    def fresh_case(self) -> str:
        """A case opened by intake and known to judicial, assessment and programmes."""
        if not self._cases:
            batch = [self.intake_case() for _ in range(_BATCH)]
            for service in _OTHERS:
                for case_id in batch:
                    eventually(lambda s=service, c=case_id: self._knows(s, c), timeout=20)
            self._cases = batch
        return self._cases.pop()

    def held_case(self) -> str:
        """A fresh case whose person the test facility's registry admitted, once every service
        knows where the person is held (that facility's staff may then act on it anywhere)."""
        case_id = self.fresh_case()
        body = admission_payload(admitted_at=ago(HOUR))
        self.recorded("intake", f"/cases/{case_id}/admission", body, "prison_registry")
        for service in _OTHERS:
            self.until(lambda s=service: self._holds(s, case_id))
        return case_id

    def _holds(self, service: str, case_id: str) -> bool:
        """The facility's director may read the case there (the link has arrived), and the
        service's view says where the person is (the admission itself has: no later change)."""
        response = self.get(service, f"/cases/{case_id}", "prison_director", sub="probe")
        if response.status_code != 200:
            return False
        return bool(self.view(service, f"/cases/{case_id}").get("facility") == TEST_FACILITY)

    def _knows(self, service: str, case_id: str) -> bool:
        path = f"/cases/{case_id}" + ("/timeline" if service == "ledger" else "")
        response = self.get(service, path, "auditor", sub="probe")
        return bool(response.status_code == 200)

    def until(self, predicate: Callable[[], Any], timeout: float = 20) -> Any:
        return eventually(predicate, timeout=timeout)

    # --- the bus: facts of services that are not the one under test ------------------------

    def publish(self, event: CatalogueEvent, subject_id: str, agency: str | None = None) -> UUID:
        """Publish one catalogue event on the stream as its service would (recorded by a user of
        `agency`); its event id."""
        event_id = uuid.uuid4()
        envelope = build_envelope(
            event,
            event_id=event_id,
            subject=subject_id,
            actor="access-feeder",
            agency=agency or f"{type(event).service}-agency",
            recorded_at=datetime.now(UTC),
        )

        async def go() -> None:
            nc = await nats.connect(self.settings.nats_url)
            js = nc.jetstream()
            await js.publish(
                self.settings.subject_prefix + subject_for(event, subject_id),
                signed(envelope),
                stream=self.settings.stream,
                headers={"Nats-Msg-Id": str(event_id)},
            )
            await nc.drain()

        asyncio.run(go())
        return event_id


def world_settings(servers: Servers) -> Settings:
    run = uuid.uuid4().hex[:10]
    return Settings(
        environment="test",
        database_url=fresh_database(servers.database_url),
        nats_url=servers.nats_url,
        stream=f"CASELINE_{run}",
        delivery_stream_max_bytes=TEST_STREAM_BYTES,
        subject_prefix=f"t{run}.",
        pool_size=4,
        relay_poll_seconds=0.05,
        # Breaches and seals recorded by the checkers would move versions under the probes.
        deadline_check_seconds=3600,
        # The ledger's checkpoint routes have a checkpoint to show soon after the first entries.
        ledger_checkpoint_seconds=1.0,
    )


@contextmanager
def world_of(servers: Servers) -> Iterator[World]:
    """The four event-sourced services and the ledger running on one fresh database and stream,
    each ready."""
    settings = world_settings(servers)
    with ExitStack() as stack:
        clients = {}
        for service in READ_SERVICES:
            module = importlib.import_module(f"services.{service}.service")
            clients[service] = stack.enter_context(running(module.create_app(settings)))
        for client in clients.values():
            eventually(lambda c=client: c.get("/readyz").status_code == 200, timeout=20)
        world = World(settings, clients)
        # Assessment publishes its default instrument in the background: before any probe counts.
        world.until(lambda: world.view("assessment", "/instruments")["items"])
        yield world
