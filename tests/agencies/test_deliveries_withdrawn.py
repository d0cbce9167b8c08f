"""A delivery an agency has not taken yet is withdrawn once the agency may no longer see its case:
a sealing, a transfer or a release of the person, a link voided. The messages stay in the
deliveries' stream for 30 days; an agency that pulls after the case left its sight must not get
what was published before. A parked message is delivered again only as the agency may see its
entry now. Real ledger on PostgreSQL, real nats-server; each agency pulls its own consumer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from services.ledger.application import LedgerApplication
from services.ledger.deliveries import Deliveries, DeliveryWithdrawnError
from services.ledger.service import create_app as ledger_app
from shared.agencies import Agency
from shared.events import (
    CaseSealed,
    DetaineeAdmitted,
    DetaineeReleased,
    DetaineeTransferred,
    HearingScheduled,
    IntakeEntryVoided,
)
from shared.kit.bus import Bus
from shared.kit.settings import Settings
from shared.kit.subscriber import Delivery
from tests.support import auth, running
from tests.support.bus import envelope_bytes, subject
from tests.support.database import owner, settings_with
from tests.support.ledger import evidence, ledger_intake, running_deliveries

pytestmark = pytest.mark.timeout(180)

BAMAKO, KOULIKORO = "Maison Centrale d'Arrêt de Bamako", "Prison de Koulikoro"
POLICE = Agency("police-a", "police")
AGENCIES = (
    POLICE,
    Agency("inspection", "auditor"),
    Agency("tribunal", "judge"),
    Agency("prison-bamako", "prison_registry", BAMAKO),
    Agency("prison-koulikoro", "prison_registry", KOULIKORO),
)
AT = "2026-11-03T10:00:00Z"


def _admission(facility: str) -> DetaineeAdmitted:
    return DetaineeAdmitted(facility=facility, admitted_at=AT, warrant_ref="MD-2026-0042")


def _hearing() -> HearingScheduled:
    return HearingScheduled(
        hearing_id=uuid4(), court="Pôle judiciaire spécialisé", scheduled_for="2026-12-01T09:00:00Z",
        purpose="Detention review",
    )  # fmt: skip


@dataclass
class Sent:
    event_id: str
    delivery: Delivery


def _message(event: Any, case_id: str, agency: str) -> Sent:
    event_id, body = envelope_bytes(event, case_id, agency=agency)
    return Sent(event_id, Delivery(subject(event, case_id), body, {"Nats-Msg-Id": event_id}, None))


@dataclass
class Tail:
    settings: Settings
    ledger: LedgerApplication
    deliveries: Deliveries
    agency: Any

    async def append(self, *sent: Sent) -> None:
        intake = ledger_intake(self.ledger)
        outcomes = await asyncio.to_thread(intake, [s.delivery for s in sent])
        assert outcomes == ["ack"] * len(sent)

    async def deliver(self) -> None:
        assert await self.deliveries.step()

    async def pull(self, agency: str, ack: bool = True) -> list[Any]:
        """The next message of the agency's consumer (one in flight at a time), as it pulls it."""
        js = self.agency.jetstream(timeout=5)
        sub = await js.pull_subscribe_bind(f"agency-{agency}", stream=self.deliveries.stream)
        try:
            msgs = await sub.fetch(1, timeout=1)
        except (NatsTimeoutError, TimeoutError):
            return []
        finally:
            await sub.unsubscribe()
        for msg in msgs if ack else ():
            await msg.ack_sync()
        return list(msgs)

    async def received(self, agency: str) -> list[tuple[str, str]]:
        """(case, event name) of everything the agency's consumer hands it now, acked."""
        out: list[tuple[str, str]] = []
        while got := await self.pull(agency):
            event = json.loads(got[0].data)["event"]
            out.append((event["subject"], event["type"].split(".")[2]))
        return out


async def _tail(settings: Settings) -> AsyncIterator[Tail]:
    async with running_deliveries(settings, AGENCIES) as (ledger, _, deliveries, agency):
        yield Tail(settings, ledger, deliveries, agency)


@pytest.fixture
async def tail(settings: Settings) -> AsyncIterator[Tail]:
    async for made in _tail(settings):
        yield made


@pytest.fixture
async def role_tail(ledger_settings: Settings) -> AsyncIterator[Tail]:
    async for made in _tail(ledger_settings):
        yield made


def _names(received: Sequence[tuple[str, str]], case_id: str) -> list[str]:
    return [name for case, name in received if case == case_id]


# --- withdrawn from the stream ---------------------------------------------------------------


async def test_a_delivery_published_before_a_seal_is_not_pulled_after_it(tail):
    sealed, other = str(uuid4()), str(uuid4())
    await tail.append(
        _message(evidence("SCELLE-1"), sealed, "police-a"),
        _message(evidence("SCELLE-2"), other, "police-a"),
    )
    await tail.deliver()  # published to the police, who do not pull yet
    await tail.append(_message(CaseSealed(reason="Acquitted", sealed_by="Judge Diarra"), sealed,
                               "tribunal"))  # fmt: skip
    await tail.deliver()

    police = await tail.received("police-a")
    auditor = await tail.received("inspection")
    judge = await tail.received("tribunal")

    assert police == [(other, "EvidenceLogged")]
    assert _names(auditor, sealed) == ["EvidenceLogged", "CaseSealed"]
    assert _names(judge, sealed) == ["EvidenceLogged", "CaseSealed"]


async def test_a_sealing_withdraws_even_the_delivery_the_agency_holds_unacked(tail):
    sealed, other = str(uuid4()), str(uuid4())
    await tail.append(
        _message(evidence("SCELLE-3"), sealed, "police-a"),
        _message(evidence("SCELLE-4"), other, "police-a"),
    )
    await tail.deliver()
    held = await tail.pull("police-a", ack=False)  # in hand, not acked, when the seal comes
    await tail.append(_message(CaseSealed(reason="By order", sealed_by="Judge Diarra"), sealed,
                               "tribunal"))  # fmt: skip
    await tail.deliver()
    await asyncio.sleep(0.5)  # past the ack wait: it would come again now

    police = [(c, n) for _ in range(3) for c, n in await tail.received("police-a")]

    assert json.loads(held[0].data)["event"]["subject"] == sealed
    assert police == [(other, "EvidenceLogged")]


async def test_a_prison_does_not_receive_after_a_transfer_what_it_had_not_taken_of_the_person(tail):
    moved, stays = str(uuid4()), str(uuid4())
    await tail.append(
        _message(_admission(BAMAKO), moved, "prison-bamako"),
        _message(_admission(BAMAKO), stays, "prison-bamako"),
        _message(_hearing(), moved, "tribunal"),
    )
    await tail.deliver()
    await tail.append(_message(DetaineeTransferred(
        from_facility=BAMAKO, to_facility=KOULIKORO, transferred_at="2026-11-20T08:00:00Z",
        reason="Security",
    ), moved, "prison-bamako"))  # fmt: skip
    await tail.deliver()

    bamako = await tail.received("prison-bamako")
    koulikoro = await tail.received("prison-koulikoro")
    judge = await tail.received("tribunal")

    assert bamako == [(stays, "DetaineeAdmitted")]
    assert _names(koulikoro, moved) == ["DetaineeTransferred"]
    assert _names(judge, moved) == ["DetaineeAdmitted", "HearingScheduled", "DetaineeTransferred"]


async def test_a_prison_does_not_receive_after_a_release_what_it_had_not_taken_of_the_person(tail):
    released = str(uuid4())
    await tail.append(
        _message(_admission(BAMAKO), released, "prison-bamako"),
        _message(_hearing(), released, "tribunal"),
    )
    await tail.deliver()
    await tail.append(_message(DetaineeReleased(
        released_at="2026-12-02T08:00:00Z", release_order_id=uuid4()
    ), released, "prison-bamako"))  # fmt: skip
    await tail.deliver()

    assert await tail.received("prison-bamako") == []
    assert _names(await tail.received("inspection"), released) == [
        "DetaineeAdmitted", "HearingScheduled", "DetaineeReleased",
    ]  # fmt: skip


async def test_a_voided_link_withdraws_what_the_agency_had_not_taken_of_the_case(tail):
    case_id = str(uuid4())
    linking = _message(evidence("SCELLE-5"), case_id, "police-a")
    await tail.append(linking)
    await tail.deliver()
    voiding = IntakeEntryVoided(voided_event_id=UUID(linking.event_id), reason="Wrong case")
    await tail.append(_message(voiding, case_id, "police-a"))
    await tail.deliver()

    assert await tail.received("police-a") == []
    assert _names(await tail.received("inspection"), case_id) == ["EvidenceLogged", "EntryVoided"]


async def test_a_ledger_that_delivers_to_no_agency_goes_past_a_sealing(settings):
    ledger = await asyncio.to_thread(LedgerApplication, settings)
    bus = Bus(settings, "ledger")
    bus.start()
    try:
        await bus.jetstream()
        deliveries = Deliveries(ledger, bus, ())
        await deliveries._prepare()  # no agency: no stream either
        tail = Tail(settings, ledger, deliveries, None)
        await tail.append(_message(CaseSealed(reason="By order", sealed_by="Judge Diarra"),
                                   str(uuid4()), "tribunal"))  # fmt: skip

        assert await deliveries.step() is True
    finally:
        await bus.close()
        await asyncio.to_thread(ledger.close)


# --- delivered again only as the agency may see it now -----------------------------------------


async def _parked(tail: Tail, agency: str) -> list[dict[str, Any]]:
    """Let the agency take its next message `max_deliver` times without acking it: parked."""
    for _ in range(2):
        for _ in range(20):
            if await tail.pull(agency, ack=False):
                break
        else:
            raise AssertionError("the message did not come")
    for _ in range(15):  # the server parks it when the agency next asks (an advisory)
        assert await tail.pull(agency, ack=False) == []
        if parked := await asyncio.to_thread(tail.deliveries.parked):
            return parked
    raise AssertionError("nothing was parked")


async def test_a_parked_message_of_a_case_sealed_since_is_not_delivered_again(role_tail):
    tail = role_tail
    case_id = str(uuid4())
    await tail.append(_message(evidence("SCELLE-P"), case_id, "police-a"))
    await tail.deliver()
    parked = await _parked(tail, "police-a")
    # Sealed, not delivered yet: the seal's own batch has not run when the operator asks.
    await tail.append(_message(CaseSealed(reason="Acquitted", sealed_by="Judge Diarra"), case_id,
                               "tribunal"))  # fmt: skip

    with pytest.raises(DeliveryWithdrawnError) as refused:
        await tail.deliveries.redeliver("police-a", 1)
    police = await tail.received("police-a")

    assert [(p["agency"], p["ledger_seq"]) for p in parked] == [("police-a", 1)]
    assert police == []
    assert refused.value.rule == "delivery-withdrawn"
    assert tail.deliveries.parked() == []  # handled: no longer listed


async def test_a_parked_message_is_delivered_again_as_the_agency_may_see_its_entry_now(role_tail):
    tail = role_tail
    case_id = str(uuid4())
    await tail.append(_message(evidence("SCELLE-Q"), case_id, "police-a"))
    await tail.deliver()
    await _parked(tail, "police-a")

    done = await tail.deliveries.redeliver("police-a", 1)
    again = [json.loads(m.data) for m in await tail.pull("police-a")]

    assert done is True
    assert [(e["ledger_seq"], e["event"]["subject"]) for e in again] == [(1, case_id)]
    assert again[0]["event"]["data"]["item_id"] == "SCELLE-Q"
    assert tail.deliveries.parked() == []


async def test_a_redelivery_of_nothing_parked_says_so(tail):
    assert await tail.deliveries.redeliver("police-a", 7) is False


def test_the_operators_route_refuses_to_deliver_again_what_the_agency_may_no_longer_see(
    settings, tmp_path
):
    registry = tmp_path / "agencies.yaml"
    registry.write_text("agencies:\n  - id: police-a\n    role: police\n")
    served = settings_with(settings, agencies_file=str(registry))
    case_id = str(uuid4())
    with running(ledger_app(served)) as client:
        ledger = client.app.state.parts.extras["deliveries"].ledger
        tail = Tail(served, ledger, client.app.state.parts.extras["deliveries"], None)
        asyncio.run(tail.append(
            _message(evidence("SCELLE-R"), case_id, "police-a"),
            _message(CaseSealed(reason="Acquitted", sealed_by="Judge Diarra"), case_id, "tribunal"),
        ))  # fmt: skip
        with owner(served) as conn:  # as the parking advisory records it
            conn.execute(
                "INSERT INTO ledger.delivery_parked (agency, ledger_seq, stream_seq) VALUES"
                " ('police-a', 1, 1), ('police-a', 2, 2)"
            )
        admin = auth(served, "admin", sub="ops-1", agency="caseline")
        route = "/deliveries/police-a/parked/{}/redeliver"

        english = client.post(route.format(1), headers={**admin, "Accept-Language": "en"})
        french = client.post(route.format(2), headers={**admin, "Accept-Language": "fr"})
        again = client.post(route.format(1), headers={**admin, "Accept-Language": "en"})
        parked = client.get("/deliveries/parked", headers=admin).json()["parked"]

    assert english.status_code == 409, english.text
    assert english.json()["type"].endswith("/delivery-withdrawn")
    assert english.json()["detail"] == (
        "agency police-a may no longer see entry 1: it was not delivered again,"
        " and the parked delivery is closed"
    )
    assert french.status_code == 409
    assert french.json()["detail"].startswith("l'organisme police-a ne peut plus voir")
    assert again.status_code == 404
    assert parked == []
