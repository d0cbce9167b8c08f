"""Each registered agency receives over NATS what its own `GET /events` shows it, and nothing else:
intake, programmes and the ledger run with their own NATS users against a nats-server started with
the repository's nats.conf and agencies.conf (the events' stream made by `ops`, the deliveries'
stream and consumers by the ledger); the agencies pull their own consumers with theirs, and one
organisation, police agency or prison never receives another's cases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nats
import psycopg
import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from caseline.natsconf import DEFAULT_REGISTRY
from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from services.programmes.service import create_app as programmes_app
from shared.agencies import load_agencies
from shared.events.personal import PERSONAL_FIELDS
from shared.kit.settings import Settings
from shared.kit.testing import Servers, settings_for
from tests.deploy.support import (
    ROOT,
    NatsProcess,
    example_env,
    load_compose,
    make_stream,
    nats_conf_copy,
    nats_environment,
    user_url,
)
from tests.support import admission_payload, arrest_payload, auth, eventually, running
from tests.support.bus import stream_messages

pytestmark = pytest.mark.timeout(240)

AGENCIES = {a.id: a for a in load_agencies(ROOT / DEFAULT_REGISTRY)}
NGO, OTHER_NGO = "ngo-sahel-avenir", "ngo-nouveau-depart"
POLICE, UNREGISTERED_POLICE = "police-judiciaire", "police-elsewhere"
PRISON, OTHER_PRISON = "prison-bamako", "prison-koulikoro"
AUDIT = "inspection"
WATCHED = (NGO, OTHER_NGO, POLICE, PRISON, OTHER_PRISON, AUDIT)
LEGAL_BASIS = "Art. 12 of the 2008 counter-terrorism law: court-ordered follow-up"


@dataclass
class Run:
    """What happened: the cases, the events recorded, what each agency received."""

    settings: Settings
    nats: NatsProcess
    env: dict[str, str]
    cases: dict[str, str] = field(default_factory=dict)
    events: dict[str, str] = field(default_factory=dict)
    received: dict[str, list[Any]] = field(default_factory=dict)
    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _headers(settings: Settings, agency: str, role: str | None = None) -> dict[str, str]:
    registered = AGENCIES.get(agency)
    role = role or (registered.role if registered else "police")
    facility = registered.facility if registered and role == registered.role else None
    return auth(settings, role, sub=f"{agency}-officer", agency=agency, facility=facility)


class _Steps:
    """The commands of the scenario, through the services' HTTP APIs."""

    def __init__(self, settings: Settings, intake: Any, programmes: Any) -> None:
        self.settings, self.intake, self.programmes = settings, intake, programmes

    def arrest(self, police: str) -> dict[str, Any]:
        answer = self.intake.post(
            "/cases", json=arrest_payload(), headers=_headers(self.settings, police)
        )
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def admit(self, case_id: str, prison: str) -> dict[str, Any]:
        body = admission_payload(facility=AGENCIES[prison].facility)
        answer = self.intake.post(
            f"/cases/{case_id}/admission", json=body, headers=_headers(self.settings, prison)
        )
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def refer(self, case_id: str, to: str, **body: str) -> dict[str, Any]:
        payload = {"to_agency": to, "reason": "Vocational mentoring", "consent": "given", **body}
        headers = _headers(self.settings, "social-service")
        # Programmes learns the case from intake over the bus: 404 until it has.
        answer = eventually(
            lambda: (r := self.programmes.post(f"/cases/{case_id}/referrals", json=payload,
                                               headers=headers)).status_code == 201 and r,
            timeout=60,
        )  # fmt: skip
        return answer.json()  # type: ignore[no-any-return]

    def accept(self, case_id: str, referral_id: str, by: str) -> dict[str, Any]:
        answer = self.programmes.post(
            f"/cases/{case_id}/referrals/{referral_id}/acceptance",
            json={}, headers=_headers(self.settings, by),
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        return answer.json()  # type: ignore[no-any-return]


def _record(run: Run, steps: _Steps) -> None:
    """Two people arrested by two police agencies, held in two prisons, each referred to and
    accepted by one organisation; then one more referral each, and one more arrest."""
    for name, police, prison, ngo in (("one", POLICE, PRISON, NGO),
                                      ("two", UNREGISTERED_POLICE, OTHER_PRISON, OTHER_NGO)):  # fmt: skip
        arrest = steps.arrest(police)
        case_id = run.cases[name] = arrest["case_id"]
        run.events[f"{name} arrest"] = arrest["event_id"]
        run.events[f"{name} admission"] = steps.admit(case_id, prison)["event_id"]
        made = steps.refer(case_id, ngo)
        run.events[f"{name} referral"] = made["event_id"]
        run.events[f"{name} acceptance"] = steps.accept(case_id, made["referral_id"], ngo)[
            "event_id"
        ]
    for name, ngo in (("one", NGO), ("two", OTHER_NGO)):
        made = steps.refer(run.cases[name], ngo, consent="legal_basis", legal_basis=LEGAL_BASIS)
        run.events[f"{name} second referral"] = made["event_id"]
    third = steps.arrest(POLICE)
    run.cases["three"], run.events["three arrest"] = third["case_id"], third["event_id"]


def _ledger_rows(settings: Settings, sql: str, params: Any = ()) -> list[Any]:
    with psycopg.connect(settings.database.conninfo()) as conn:
        return conn.execute(sql, params).fetchall()


def _delivered_everything(run: Run) -> bool:
    """Every event recorded is appended, and the deliveries' position is past all of them."""
    rows = _ledger_rows(
        run.settings,
        "SELECT count(*), max(ledger_seq) FROM ledger.entries WHERE event_id = ANY(%s::uuid[])",
        (list(run.events.values()),),
    )
    count, last = rows[0]
    if count < len(run.events):
        return False
    position = _ledger_rows(run.settings, "SELECT delivered_seq FROM ledger.delivery_position")
    return bool(position) and position[0][0] >= last


async def _listen(run: Run, act: Any) -> None:
    """Run `act`, wait until the ledger has published past the last event, then pull as each
    watched agency, with its own NATS user, everything its durable consumer holds for it."""
    await asyncio.to_thread(act)
    await asyncio.to_thread(eventually, lambda: _delivered_everything(run), 90)
    for agency in WATCHED:
        user = f"agency-{agency}"
        nc = await nats.connect(user_url(run.nats, run.env, user), inbox_prefix=f"_INBOX.{user}")
        try:
            sub = await nc.jetstream(timeout=5).pull_subscribe_bind(
                user, stream="CASELINE_DELIVERIES"
            )
            run.received[agency] = []
            while True:
                try:
                    (msg,) = await sub.fetch(1, timeout=1)
                except (NatsTimeoutError, TimeoutError):
                    break
                await msg.ack_sync()
                run.received[agency].append(msg)
        finally:
            await nc.close()


@pytest.fixture(scope="module")
def run(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("deliveries")
    env = example_env()
    process = NatsProcess(nats_conf_copy(root, root / "store"),
                          nats_environment(env, load_compose()), root / "nats.log").start()  # fmt: skip
    try:
        make_stream(user_url(process, env, "ops"))
        base = settings_for(servers, stream="CASELINE", subject_prefix="",
                            agencies_file=str(ROOT / DEFAULT_REGISTRY))  # fmt: skip
        run = Run(base, process, env)

        def as_user(service: str) -> Settings:
            return base.model_copy(update={"nats_url": user_url(process, env, f"svc-{service}")})

        with (
            running(intake_app(as_user("intake"))) as intake,
            running(programmes_app(as_user("programmes"))) as programmes,
            running(ledger_app(as_user("ledger"))) as ledger,
        ):
            asyncio.run(_listen(run, lambda: _record(run, _Steps(base, intake, programmes))))
            for agency in WATCHED:
                answer = ledger.get("/events?limit=1000", headers=_headers(base, agency))
                run.feeds[agency] = answer.json()["entries"]
        yield run
    finally:
        process.stop()


def _bodies(run: Run, agency: str) -> list[dict[str, Any]]:
    return [json.loads(m.data) for m in run.received[agency]]


def _cases(run: Run, agency: str) -> set[str]:
    return {b["event"]["subject"] for b in _bodies(run, agency)}


def test_one_organisation_never_receives_another_organisations_events(run):
    assert _cases(run, NGO) == {run.cases["one"]}
    assert _cases(run, OTHER_NGO) == {run.cases["two"]}


def test_an_organisation_receives_its_referrals_with_the_legal_basis_removed(run):
    second = next(
        b for b in _bodies(run, NGO) if b["event"]["id"] == run.events["one second referral"]
    )

    assert run.events["one acceptance"] in {b["event"]["id"] for b in _bodies(run, NGO)}
    assert "legal_basis" not in second["event"]["data"]
    assert second["redacted"] == ["legal_basis"]


def test_a_police_agency_receives_only_the_cases_its_officers_recorded(run):
    ids = {b["event"]["id"] for b in _bodies(run, POLICE)}

    assert _cases(run, POLICE) == {run.cases["one"], run.cases["three"]}
    assert {run.events["one arrest"], run.events["three arrest"]} <= ids
    assert run.events["two arrest"] not in ids


def test_a_prison_receives_only_the_people_it_holds(run):
    assert _cases(run, PRISON) == {run.cases["one"]}
    assert _cases(run, OTHER_PRISON) == {run.cases["two"]}


def test_the_auditor_receives_every_event_recorded(run):
    ids = {b["event"]["id"] for b in _bodies(run, AUDIT)}

    assert set(run.events.values()) <= ids


@pytest.mark.parametrize("agency", WATCHED)
def test_each_delivery_is_the_entry_the_agencys_own_feed_shows(run, agency):
    feed = {e["ledger_seq"]: e for e in run.feeds[agency]}

    for msg in run.received[agency]:
        body = json.loads(msg.data)
        shown = feed[body["ledger_seq"]]
        # The feed reveals personal fields to its reader (then removes those it may not see);
        # a delivery withholds them, so only the placeholders it holds can be removed.
        assert {**body, "event": None, "redacted": None} == {
            **shown,
            "event": None,
            "redacted": None,
        }
        assert set(body["redacted"]) <= set(shown["redacted"])
        assert _less_personal(body["event"]) == _less_personal(shown["event"])
        assert body["event"].get("personaldata") in (None, "withheld")
        assert msg.headers["Caseline-Ledger-Seq"] == str(body["ledger_seq"])
        assert msg.headers["Caseline-Entry-Hash"] == body["hash"]
        event = body["event"]
        service, name = event["type"].split(".")[1:3]
        assert msg.subject == f"deliver.{agency}.caseline.{service}.{name}.{event['subject']}"
    assert run.received[agency]


def _less_personal(event: dict[str, Any]) -> dict[str, Any]:
    personal = set(PERSONAL_FIELDS.get(event["type"], ()))
    data = {k: v for k, v in event["data"].items() if k not in personal and k != "person"}
    return {**event, "data": data, "personaldata": None}


def test_no_delivery_carries_a_personal_field_in_the_clear(run):
    held = [m.data for agency in WATCHED for m in run.received[agency]]

    assert held
    assert not any("Amadou Test Traoré".encode() in data for data in held)
    assert any(b'"personaldata":"withheld"' in data for data in held)


def test_deliveries_are_in_ledger_order_and_never_twice(run):
    for agency in WATCHED:
        seqs = [json.loads(m.data)["ledger_seq"] for m in run.received[agency]]
        assert seqs == sorted(set(seqs)), agency


def test_neither_the_stream_nor_the_ledger_takes_a_delivery_in(run):
    stored = asyncio.run(stream_messages(user_url(run.nats, run.env, "ops"), "CASELINE"))
    entries = _ledger_rows(run.settings, "SELECT count(*) FROM ledger.entries")[0][0]

    assert all(subject.startswith("caseline.") for subject, _ in stored)
    assert entries == len(run.events)
