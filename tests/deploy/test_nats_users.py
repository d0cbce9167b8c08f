"""The NATS users (SPEC §8, least privilege): one per registered agency and per service, generated
from deploy/agencies.yaml, and enforced by a real nats-server started with the repository's own
nats.conf and agencies.conf — every forbidden action of an agency or a service is refused there."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.errors import Error as NatsError
from nats.js.api import ConsumerConfig

from caseline.consumers import SERVICE_REACTIONS, planned
from caseline.natsconf import CONSUMERS, DEFAULT_PATH, DEFAULT_REGISTRY, render, users
from services.assessment.inbound import reactions as assessment_reactions
from services.intake.inbound import reactions as intake_reactions
from services.judicial.inbound import reactions as judicial_reactions
from services.ledger.deliveries import delivery_consumer, delivery_stream
from services.ledger.inbound import reactions as ledger_reactions
from services.programmes.inbound import reactions as programmes_reactions
from shared.agencies import load_agencies
from shared.events import EVENT_TYPES
from shared.kit.bus import Bus
from shared.kit.runtime import ConsumerPlan, durable_name, service_consumers
from shared.kit.settings import Settings
from shared.kit.subscriber import ACK, Subscriber
from tests.deploy.support import (
    ROOT,
    NatsProcess,
    example_env,
    load_compose,
    make_stream,
    nats_conf_copy,
    user_url,
)
from tests.deploy.support import nats_environment as nats_env

AGENCIES = load_agencies(ROOT / DEFAULT_REGISTRY)
BY_ID = {a.id: a for a in AGENCIES}
NGO, OTHER_NGO = "ngo-sahel-avenir", "ngo-nouveau-depart"


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or token not in ("*", have[i]):
            return False
    return len(want) == len(have)


def _event_subjects() -> list[tuple[str, str]]:
    return [(m.service, f"caseline.{m.service}.{m.event_name}.case-1") for m in EVENT_TYPES]


def test_agencies_conf_is_generated_from_the_agency_registry():
    assert (ROOT / DEFAULT_PATH).read_text() == render(AGENCIES), "run `caseline nats-config`"


def test_each_agency_may_only_pull_its_own_consumer_of_the_deliveries():
    by_name = {u.name: u for u in users(AGENCIES)}

    for agency in AGENCIES:
        user = by_name[f"agency-{agency.id}"]
        own = f"CASELINE_DELIVERIES.agency-{agency.id}"
        assert user.subscribe == (f"_INBOX.agency-{agency.id}.>",)
        assert user.publish == (
            f"$JS.API.CONSUMER.INFO.{own}", f"$JS.API.CONSUMER.MSG.NEXT.{own}", f"$JS.ACK.{own}.>",
        )  # fmt: skip
        for _, subject in _event_subjects():
            assert not any(_matches(p, subject) for p in (*user.subscribe, *user.publish))


def test_each_service_may_publish_only_its_own_events():
    by_name = {u.name: u for u in users(AGENCIES)}

    for service, subject in _event_subjects():
        for other in CONSUMERS:
            allowed = any(_matches(p, subject) for p in by_name[f"svc-{other}"].publish)
            assert allowed == (other == service), (other, subject)


def test_no_service_holds_the_stream_administration_or_anothers_consumers():
    for user in users(AGENCIES):
        if not user.name.startswith("svc-"):
            continue
        own = CONSUMERS[user.name.removeprefix("svc-")]
        # The ledger's deliveries' stream and its agencies' consumers are its own (below).
        api = [s for s in user.publish if s.startswith("$JS.") and "_DELIVERIES" not in s]

        for subject in api:
            assert subject.removesuffix(".>").rsplit(".", 1)[1] in own, subject
            # Its consumers are made by `ops`: a service that could make or change one could
            # point it at every subject of the stream; the stream's info lists every subject.
            assert ".CREATE." not in subject and ".STREAM." not in subject, subject
        assert user.subscribe[0] == f"_INBOX.{user.name}.>"


@pytest.mark.parametrize("service", ["intake", "judicial", "assessment", "programmes", "ledger"])
def test_the_consumer_table_names_every_durable_consumer_a_service_runs(service):
    settings = Settings(environment="test")
    reactions, own_events = SERVICE_REACTIONS[service]
    app = ConsumerPlan(settings)

    runs = {
        durable_name(service, c)
        for c in service_consumers(app, service, reactions, own_events=own_events)
    }
    planned_here = {c.durable_name for c in planned(settings) if c.durable_name in runs}

    assert runs == set(CONSUMERS[service]) == planned_here


def test_the_services_factories_run_the_consumers_ops_makes():
    # The table `ops` makes the consumers from is the services' own (`service_app` arguments).
    factories = {
        "intake": intake_reactions,
        "judicial": judicial_reactions,
        "assessment": assessment_reactions,
        "programmes": programmes_reactions,
        "ledger": ledger_reactions,
    }

    assert {s: r for s, (r, _) in SERVICE_REACTIONS.items()} == factories
    assert [s for s, (_, own) in SERVICE_REACTIONS.items() if not own] == ["ledger"]


# --- against a real nats-server ---------------------------------------------------------------


Server = tuple[NatsProcess, dict[str, str]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("nats-users")
    env = example_env()
    config = nats_conf_copy(root, root / "store")
    process = NatsProcess(config, nats_env(env, load_compose()), root / "server.log").start()
    try:
        make_stream(user_url(process, env, "ops"))
        yield process, env
    finally:
        process.stop()


def _url(server: Server, user: str) -> str:
    return user_url(*server, user)


@pytest.fixture(scope="module")
def held_ack(server: Server) -> str:
    """The ack subject of a message the ledger's consumer holds, unacknowledged."""
    return asyncio.run(_ledger_consumer_holding_a_message(server))


async def _ledger_consumer_holding_a_message(server: Server) -> str:
    """As the services do it with their own users: intake publishes an event, the ledger takes
    it from its durable consumer (which `ops` made) without acking it yet."""
    intake = await nats.connect(_url(server, "svc-intake"), inbox_prefix="_INBOX.svc-intake")
    ledger = await nats.connect(_url(server, "svc-ledger"), inbox_prefix="_INBOX.svc-ledger")
    try:
        await intake.jetstream(timeout=5).publish("caseline.intake.ArrestRecorded.case-1", b"{}")
        js = ledger.jetstream(timeout=5)
        sub = await js.pull_subscribe_bind("ledger", stream="CASELINE")
        (msg,) = await sub.fetch(1, timeout=5)
    finally:
        await intake.close()
        await ledger.close()
    assert msg.reply.startswith("$JS.ACK.CASELINE.ledger.")
    return str(msg.reply)


async def _errors_of(url: str, act: Callable[[Any], Awaitable[Any]], expect: int = 1) -> list[str]:
    """The errors the server sent back while `act` ran, once `expect` of them came (or 5 s
    passed: the assertions then say what was missing)."""
    errors: list[str] = []
    enough = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())
        if len(errors) >= expect:
            enough.set()

    user = url.split("//", 1)[1].split(":", 1)[0]
    nc = await nats.connect(
        url, error_cb=on_error, allow_reconnect=False, inbox_prefix=f"_INBOX.{user}"
    )
    try:
        with contextlib.suppress(NatsError, TimeoutError):
            await act(nc)
        await nc.flush(timeout=2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), 5)
    finally:
        await nc.close()
    return errors


async def _state(server: Server) -> tuple[int, int, bool]:
    """What the operators see: the stream's messages, the ledger consumer's pending acks, and
    whether some consumer other than the services' (made by `ops`) exists."""
    nc = await nats.connect(_url(server, "ops"))
    try:
        jsm = nc.jetstream(timeout=5)
        stream = await jsm.stream_info("CASELINE")
        ledger = await jsm.consumer_info("CASELINE", "ledger")
        names = [c.name for c in await jsm.consumers_info("CASELINE")]
    finally:
        await nc.close()
    made = {c.durable_name for c in planned(Settings(environment="test"))}
    return stream.state.messages, ledger.num_ack_pending, not set(names) <= made


def _publish(subject: str) -> Callable[[Any], Awaitable[None]]:
    async def act(nc: Any) -> None:
        await nc.publish(subject, b"{}")

    return act


def _subscribe(subject: str) -> Callable[[Any], Awaitable[None]]:
    async def act(nc: Any) -> None:
        await nc.subscribe(subject)

    return act


AGENCY_REFUSED = {
    "the raw stream": "caseline.>",
    "a service's raw events": "caseline.programmes.>",
    "one raw event type": "caseline.intake.ArrestRecorded.*",
    "another organisation's deliveries": f"deliver.{OTHER_NGO}.>",
    "every agency's deliveries": "deliver.>",
    "the services' replies": "_INBOX.>",
}


@pytest.mark.parametrize("subject", AGENCY_REFUSED.values(), ids=AGENCY_REFUSED.keys())
async def test_an_agency_is_refused_every_subscription_but_its_own_deliveries(server, subject):
    errors = await _errors_of(_url(server, f"agency-{NGO}"), _subscribe(subject))

    assert f'permissions violation for subscription to "{subject.lower()}"' in " ".join(errors)


async def test_an_agency_cannot_publish_at_all(server):
    async def act(nc: Any) -> None:
        await nc.publish("caseline.programmes.ProgrammeCreated.p-1", b"{}")
        await nc.publish(f"deliver.{OTHER_NGO}.caseline.intake.ArrestRecorded.c-1", b"{}")

    errors = await _errors_of(_url(server, f"agency-{NGO}"), act, expect=2)

    assert sum("permissions violation for publish" in e for e in errors) == 2, errors


def _ledger_bus() -> Bus:
    return Bus(Settings(environment="test"), "ledger")


@pytest.fixture(scope="module")
def deliveries(server: Server) -> None:
    """As the ledger does it with its own user: the deliveries' stream, the two organisations'
    consumers, and one delivery to each."""
    asyncio.run(_ledger_delivers(server))


async def _ledger_delivers(server: Server) -> None:
    ledger = await nats.connect(_url(server, "svc-ledger"), inbox_prefix="_INBOX.svc-ledger")
    bus = _ledger_bus()
    try:
        js = ledger.jetstream(timeout=5)
        await js.add_stream(delivery_stream(bus))
        for agency in (BY_ID[NGO], BY_ID[OTHER_NGO]):
            await js.add_consumer("CASELINE_DELIVERIES", delivery_consumer(agency, bus))
            await js.consumer_info("CASELINE_DELIVERIES", agency.durable)
            subject = f"deliver.{agency.id}.caseline.programmes.ReferralAccepted.case-1"
            await js.publish(subject, agency.id.encode(), headers={"Nats-Msg-Id": agency.id})
    finally:
        await ledger.close()


async def test_an_agency_pulls_and_acks_what_the_ledger_delivers_to_it(server, deliveries):
    agency = await nats.connect(_url(server, f"agency-{NGO}"), inbox_prefix=f"_INBOX.agency-{NGO}")
    try:
        js = agency.jetstream(timeout=5)
        sub = await js.pull_subscribe_bind(f"agency-{NGO}", stream="CASELINE_DELIVERIES")
        (msg,) = await sub.fetch(1, timeout=5)
        await msg.ack_sync()
        info = await js.consumer_info("CASELINE_DELIVERIES", f"agency-{NGO}")
    finally:
        await agency.close()

    assert (msg.subject, msg.data) == (
        f"deliver.{NGO}.caseline.programmes.ReferralAccepted.case-1",
        NGO.encode(),
    )
    assert info.num_ack_pending == 0


_DS = "CASELINE_DELIVERIES"
AGENCY_API_REFUSED = {
    "bind another agency's consumer": f"$JS.API.CONSUMER.MSG.NEXT.{_DS}.agency-{OTHER_NGO}",
    "read another agency's consumer": f"$JS.API.CONSUMER.INFO.{_DS}.agency-{OTHER_NGO}",
    "ack for another agency": f"$JS.ACK.{_DS}.agency-{OTHER_NGO}.1.1.1.1.0",
    "create a consumer by name": f"$JS.API.CONSUMER.CREATE.{_DS}.spy",
    "create a durable consumer": f"$JS.API.CONSUMER.DURABLE.CREATE.{_DS}.spy",
    "an ephemeral consumer on the deliveries": f"$JS.API.CONSUMER.CREATE.{_DS}",
    "re-point its own consumer": f"$JS.API.CONSUMER.DURABLE.CREATE.{_DS}.agency-{NGO}",
    "delete its own consumer": f"$JS.API.CONSUMER.DELETE.{_DS}.agency-{NGO}",
    "delete another's consumer": f"$JS.API.CONSUMER.DELETE.{_DS}.agency-{OTHER_NGO}",
    "list the consumers": f"$JS.API.CONSUMER.LIST.{_DS}",
    "read a stored delivery": f"$JS.API.STREAM.MSG.GET.{_DS}",
    "read a delivery directly": f"$JS.API.DIRECT.GET.{_DS}",
    "purge the deliveries": f"$JS.API.STREAM.PURGE.{_DS}",
    "the events stream's info": "$JS.API.STREAM.INFO.CASELINE",
    "a consumer on the events stream": "$JS.API.CONSUMER.CREATE.CASELINE",
    "pull the ledger's consumer": "$JS.API.CONSUMER.MSG.NEXT.CASELINE.ledger",
    "read a stored event": "$JS.API.STREAM.MSG.GET.CASELINE",
    "publish an event": "caseline.programmes.ProgrammeCreated.p-1",
    "forge a delivery": f"deliver.{OTHER_NGO}.caseline.intake.ArrestRecorded.c-1",
}


@pytest.mark.parametrize("subject", AGENCY_API_REFUSED.values(), ids=AGENCY_API_REFUSED.keys())
async def test_every_forbidden_action_of_an_agency_is_refused_by_the_server(
    server, deliveries, subject
):
    errors = await _errors_of(_url(server, f"agency-{NGO}"), _publish(subject))

    assert f'permissions violation for publish to "{subject.lower()}"' in " ".join(errors)


async def test_an_agency_cannot_take_another_agencys_deliveries(server, deliveries):
    async def act(nc: Any) -> None:
        js = nc.jetstream(timeout=1)
        sub = await js.pull_subscribe_bind(f"agency-{OTHER_NGO}", stream=_DS)
        await sub.fetch(1, timeout=1)

    errors = await _errors_of(_url(server, f"agency-{NGO}"), act)
    nc = await nats.connect(_url(server, "ops"))
    try:
        info = await nc.jetstream(timeout=5).consumer_info(_DS, f"agency-{OTHER_NGO}")
    finally:
        await nc.close()

    assert "permissions violation for publish" in " ".join(errors), errors
    assert (info.num_pending, info.num_ack_pending) == (1, 0)


SERVICE_REFUSED = {
    "publish another service's event": ("svc-programmes", "caseline.judicial.EntryVoided.c-1"),
    "the ledger forging an event": ("svc-ledger", "caseline.intake.ArrestRecorded.c-1"),
    "forge a delivery": ("svc-intake", f"deliver.{NGO}.caseline.intake.ArrestRecorded.c-1"),
    "another consumer's dead letters": ("svc-intake", "caseline.deadletter.ledger"),
    "purge the stream": ("svc-intake", "$JS.API.STREAM.PURGE.CASELINE"),
    "delete the stream": ("svc-intake", "$JS.API.STREAM.DELETE.CASELINE"),
    "change the stream": ("svc-ledger", "$JS.API.STREAM.UPDATE.CASELINE"),
    "create a stream": ("svc-ledger", "$JS.API.STREAM.CREATE.CASELINE2"),
    "read any stored message": ("svc-intake", "$JS.API.STREAM.MSG.GET.CASELINE"),
    "delete a stored message": ("svc-intake", "$JS.API.STREAM.MSG.DELETE.CASELINE"),
    "read any stored message directly": ("svc-intake", "$JS.API.DIRECT.GET.CASELINE"),
    "delete another's consumer": ("svc-intake", "$JS.API.CONSUMER.DELETE.CASELINE.ledger"),
    "delete its own consumer": ("svc-intake", "$JS.API.CONSUMER.DELETE.CASELINE.intake-access"),
    "re-point another's consumer": (
        "svc-intake", "$JS.API.CONSUMER.DURABLE.CREATE.CASELINE.ledger"),
    "re-point its own consumer at every subject": (
        "svc-programmes", "$JS.API.CONSUMER.DURABLE.CREATE.CASELINE.programmes-case-facts"),
    "re-point its own consumer by name": (
        "svc-programmes", "$JS.API.CONSUMER.CREATE.CASELINE.programmes-case-facts"),
    "the stream's info (every subject, every case id)": (
        "svc-intake", "$JS.API.STREAM.INFO.CASELINE"),
    "create another's consumer by name": (
        "svc-intake", "$JS.API.CONSUMER.CREATE.CASELINE.ledger"),
    "an ephemeral consumer on everything": ("svc-intake", "$JS.API.CONSUMER.CREATE.CASELINE"),
    "pull from another's consumer": ("svc-intake", "$JS.API.CONSUMER.MSG.NEXT.CASELINE.ledger"),
    "ack for another consumer": ("svc-intake", "$JS.ACK.CASELINE.ledger.1.1.1.1.0"),
    "list the consumers": ("svc-intake", "$JS.API.CONSUMER.LIST.CASELINE"),
}  # fmt: skip


@pytest.mark.parametrize(("user", "subject"), SERVICE_REFUSED.values(), ids=SERVICE_REFUSED.keys())
async def test_every_forbidden_publish_of_a_service_is_refused_by_the_server(server, user, subject):
    errors = await _errors_of(_url(server, user), _publish(subject))

    assert f'permissions violation for publish to "{subject.lower()}"' in " ".join(errors)


@pytest.mark.parametrize(
    "subject", ["_INBOX.>", "_INBOX.svc-judicial.>", "_INBOX.svc-ledger.abc.*", "caseline.>"]
)
async def test_a_service_is_refused_any_subscription_but_its_own_inbox(server, subject):
    errors = await _errors_of(_url(server, "svc-intake"), _subscribe(subject))

    assert f'permissions violation for subscription to "{subject.lower()}"' in " ".join(errors)


async def test_a_service_cannot_purge_or_delete_the_stream_or_the_ledgers_consumer(
    server, held_ack
):
    before = await _state(server)

    async def act(nc: Any) -> None:
        jsm = nc.jetstream(timeout=1)
        for attempt in (
            jsm.purge_stream("CASELINE"),
            jsm.delete_stream("CASELINE"),
            jsm.delete_consumer("CASELINE", "ledger"),
            jsm.add_consumer("CASELINE", ConsumerConfig(durable_name="spy")),
        ):
            with contextlib.suppress(NatsError, TimeoutError):
                await attempt

    errors = await _errors_of(_url(server, "svc-intake"), act, expect=4)
    after = await _state(server)

    assert sum("permissions violation for publish" in e for e in errors) == 4, errors
    assert before[0] >= 1
    assert after == before  # every message kept, the ledger's consumer and nothing else


async def test_a_service_cannot_ack_a_message_held_by_the_ledgers_consumer(server, held_ack):
    pending = (await _state(server))[1]

    errors = await _errors_of(_url(server, "svc-judicial"), _publish(held_ack))

    assert f'permissions violation for publish to "{held_ack.lower()}"' in " ".join(errors)
    assert pending == 1
    assert (await _state(server))[1] == 1


async def test_a_wrong_password_is_refused(server):
    process, _ = server
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = nats.NATS()
    with pytest.raises((NatsError, OSError)):
        await nc.connect(process.url("svc-intake", "not-the-password"), error_cb=on_error,
                         allow_reconnect=False, max_reconnect_attempts=0)  # fmt: skip
    await nc.close()

    assert any("authorization" in str(e).lower() for e in errors), errors


def test_the_configuration_refuses_to_start_without_its_secrets(tmp_path: Path):
    config = nats_conf_copy(tmp_path, tmp_path / "store")
    env = {
        k: v for k, v in nats_env(example_env(), load_compose()).items() if k != "NATS_PASSWORD_OPS"
    }
    process = NatsProcess(config, env, tmp_path / "server.log")

    with pytest.raises(AssertionError):
        process.start()
    process.stop()

    assert "NATS_PASSWORD_OPS" in (tmp_path / "server.log").read_text()


async def test_a_service_runs_its_consumer_as_ops_made_it_and_cannot_change_it(server):
    settings = Settings(environment="test", nats_url=_url(server, "svc-judicial"))
    (config,) = [c for c in planned(settings) if c.durable_name == "judicial-intake-record"]
    subjects = [s.removeprefix(settings.subject_prefix) for s in config.filter_subjects or []]
    taken: list[str] = []

    def handle(deliveries: Any) -> list[Any]:
        taken.extend(d.subject for d in deliveries)
        return [ACK for _ in deliveries]

    bus = Bus(settings, "judicial")
    bus.start()
    subscriber = Subscriber(bus, "judicial-intake-record", subjects, handle)
    running = asyncio.create_task(subscriber.run())
    intake = await nats.connect(_url(server, "svc-intake"), inbox_prefix="_INBOX.svc-intake")
    try:
        await intake.jetstream(timeout=5).publish("caseline.intake.CustodyStarted.case-ops", b"{}")
        for _ in range(100):
            if "caseline.intake.CustodyStarted.case-ops" in taken:
                break
            await asyncio.sleep(0.1)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await intake.close()
        await bus.close()
    nc = await nats.connect(_url(server, "ops"))
    try:
        info = await nc.jetstream(timeout=5).consumer_info("CASELINE", "judicial-intake-record")
    finally:
        await nc.close()

    assert "caseline.intake.CustodyStarted.case-ops" in taken
    assert sorted(info.config.filter_subjects or []) == sorted(config.filter_subjects or [])
