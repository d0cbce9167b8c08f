"""Per-agency NATS users (SPEC §8): generated from the visibility table, and enforced by a real
nats-server started with the repository's own nats.conf and agencies.conf."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeoutError

from caseline.natsconf import AGENCIES, DEFAULT_PATH, render, subscribe_subjects, users
from shared.events import EVENT_TYPES
from shared.permissions import ROLES, may_see
from tests.deploy.support import ROOT, NatsProcess, example_env, load_compose, nats_conf_copy
from tests.deploy.support import nats_environment as nats_env


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` one token, `>` the rest."""
    want, have = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or token not in ("*", have[i]):
            return False
    return len(want) == len(have)


def test_agencies_conf_is_generated_from_the_permissions_table():
    assert (ROOT / DEFAULT_PATH).read_text() == render(), "run `caseline nats-config`"


def test_every_role_but_admin_works_in_an_agency():
    assigned = {role for roles in AGENCIES.values() for role in roles}

    assert assigned == ROLES - {"admin"}


@pytest.mark.parametrize("agency", sorted(AGENCIES))
def test_an_agency_may_subscribe_to_exactly_the_event_types_its_roles_see(agency):
    allowed = subscribe_subjects(AGENCIES[agency])

    for model in EVENT_TYPES:
        subject = f"caseline.{model.service}.{model.event_name}.case-1"
        visible = any(may_see(role, model.type_name()) for role in AGENCIES[agency])
        assert any(_matches(p, subject) for p in allowed) == visible, (agency, subject)


def test_no_agency_may_publish_or_read_inboxes_and_no_file_holds_a_password():
    text = render()

    for user in users():
        if user.name in AGENCIES:
            assert user.publish == ()
            assert not any(s.startswith("_INBOX") for s in user.subscribe)
        assert f"password: ${user.password_variable}" in text
    assert '{ deny: [">"] }' in text


# --- against a real nats-server ---------------------------------------------------------------


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[NatsProcess, dict[str, str]]]:
    root = tmp_path_factory.mktemp("nats-users")
    env = example_env()
    config = nats_conf_copy(root, root / "store")
    process = NatsProcess(config, nats_env(env, load_compose()), root / "server.log").start()
    try:
        yield process, env
    finally:
        process.stop()


def _url(server: tuple[NatsProcess, dict[str, str]], user: str) -> str:
    process, env = server
    return process.url(user, env[f"NATS_PASSWORD_{user.upper().replace('-', '_')}"])


async def _errors_of(url: str, act, expect: int = 1) -> tuple[list[str], object]:  # type: ignore[no-untyped-def]
    """What `act` returned and the errors the server sent back, once `expect` of them came
    (or 5 s passed: the assertions then say what was missing)."""
    errors: list[str] = []
    enough = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))
        if len(errors) >= expect:
            enough.set()

    nc = await nats.connect(url, error_cb=on_error, allow_reconnect=False)
    try:
        result = await act(nc)
        await nc.flush(timeout=2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), 5)
        await asyncio.sleep(0.2)  # and nothing more than expected
    finally:
        await nc.close()
    return errors, result


async def test_civil_society_is_refused_a_subscription_to_judicial_events_by_the_server(server):
    async def act(nc):  # type: ignore[no-untyped-def]
        return await nc.subscribe("caseline.judicial.>")

    errors, _ = await _errors_of(_url(server, "civil_society"), act)

    assert any("permissions violation for subscription" in e.lower() for e in errors), errors
    assert any("caseline.judicial.>" in e for e in errors)


async def test_civil_society_cannot_publish_at_all(server):
    async def act(nc):  # type: ignore[no-untyped-def]
        await nc.publish("caseline.programmes.ProgrammeCreated.p-1", b"{}")
        await nc.publish("_INBOX.anything", b"{}")

    errors, _ = await _errors_of(_url(server, "civil_society"), act, expect=2)

    refused = [e for e in errors if "permissions violation for publish" in e.lower()]
    assert len(refused) == 2, errors


async def _first_delivery(sub, publisher, subject: str, data: bytes, within: float = 10.0):  # type: ignore[no-untyped-def]
    """Publish until the subscription receives. A core subscription is at most once, and a
    message published a few milliseconds after another connection's SUB and flush can miss it
    (seen in about 1 run in 25 here); only a delivery proves the subscription works."""
    deadline = time.monotonic() + within
    while True:
        await publisher.publish(subject, data)
        await publisher.flush()
        try:
            return await sub.next_msg(timeout=0.2)
        except NatsTimeoutError:
            if time.monotonic() > deadline:
                raise


async def test_civil_society_receives_programme_events_a_service_publishes(server):
    agency = await nats.connect(_url(server, "civil_society"))
    service = await nats.connect(_url(server, "svc-programmes"))
    try:
        sub = await agency.subscribe("caseline.programmes.>")
        await agency.flush()
        msg = await _first_delivery(
            sub, service, "caseline.programmes.ProgrammeCreated.p-1", b'{"ok":1}'
        )
    finally:
        await agency.close()
        await service.close()

    assert msg.subject == "caseline.programmes.ProgrammeCreated.p-1"
    assert msg.data == b'{"ok":1}'


async def test_a_service_publishes_its_own_events_to_jetstream_and_not_another_services(server):
    async def act(nc):  # type: ignore[no-untyped-def]
        js = nc.jetstream(timeout=3)
        await js.add_stream(name="CASELINE", subjects=["caseline.>"])
        ack = await js.publish("caseline.intake.ArrestRecorded.case-1", b"{}")
        with pytest.raises((NatsError, TimeoutError)):
            await js.publish("caseline.judicial.ReleaseOrdered.case-1", b"{}", timeout=1)
        info = await js.stream_info("CASELINE")
        return ack.seq, info.state.messages

    errors, (seq, stored) = await _errors_of(_url(server, "svc-intake"), act)

    assert seq >= 1
    assert stored == seq  # the judicial subject never reached the stream
    refused = 'permissions violation for publish to "caseline.judicial.releaseordered.case-1"'
    assert any(refused in e.lower() for e in errors), errors


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
