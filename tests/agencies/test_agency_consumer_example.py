"""`examples/agency_consumer` runs as its README says, against real servers: intake and the ledger
on PostgreSQL and a nats-server started with the repository's nats.conf and agencies.conf, the
client kit installed from its repository path, the agency's NATS user and token. In NATS mode
(stopped and started again halfway) and in webhook mode, its SQLite database ends with every event
the agency may see exactly once, no other, no personal value, and each proven against a
checkpoint the ledger signed; `resolve` shows a withheld name through the ledger."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from caseline.natsconf import DEFAULT_REGISTRY
from services.intake.service import create_app as intake_app
from services.ledger.service import create_app as ledger_app
from services.ledger.signing import ledger_key
from shared.agencies import load_agencies
from shared.kit.servers import free_port, wait_for_port
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
from tests.support import admission_payload, arrest_payload, eventually, running, serving, token_for

pytestmark = pytest.mark.timeout(300)

EXAMPLE = ROOT / "examples" / "agency_consumer"
AGENCY, OTHER_POLICE, PRISON = "police-judiciaire", "police-elsewhere", "prison-bamako"
AGENCIES = {a.id: a for a in load_agencies(ROOT / DEFAULT_REGISTRY)}
NAME = "Amadou Test Traoré"  # the arrested person's, withheld from every delivery
PURPOSE = "following up our arrest"


@dataclass
class Run:
    settings: Settings
    root: Path
    ledger: str
    feed: list[dict[str, Any]] = field(default_factory=list)
    cases: dict[str, str] = field(default_factory=dict)
    databases: dict[str, Path] = field(default_factory=dict)
    resolved: dict[str, Any] = field(default_factory=dict)


def _token(settings: Settings, agency: str, role: str | None = None) -> str:
    registered = AGENCIES.get(agency)
    role = role or (registered.role if registered else "police")
    facility = registered.facility if registered else None
    return token_for(settings, role, sub=f"{agency}-officer", agency=agency, facility=facility)


def _headers(settings: Settings, agency: str, role: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {_token(settings, agency, role)}"}


class Example:
    """The example as a process of its own, with the kit from its repository path."""

    def __init__(self, run: Run, kit: Path, env: dict[str, str]) -> None:
        self.run, self.kit, self.env = run, kit, env
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *args: str) -> list[str]:
        return [sys.executable, str(EXAMPLE / "consumer.py"), *args]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CASELINE_")}
        return {**env, "PYTHONPATH": str(self.kit), **self.env}

    def start(self, *args: str, log: str) -> Example:
        with (self.run.root / log).open("ab") as out:
            self.process = subprocess.Popen(
                self.command(*args), env=self.environment(), cwd=self.run.root,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)


def _rows(database: Path) -> list[sqlite3.Row]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as db:
        db.row_factory = sqlite3.Row
        return db.execute("SELECT * FROM events ORDER BY ledger_seq").fetchall()


def _feed(run: Run) -> list[dict[str, Any]]:
    """What the agency's own `GET /events` shows it: what it may see."""
    answer = httpx.get(f"{run.ledger}/events", params={"limit": 1000},
                       headers=_headers(run.settings, AGENCY))  # fmt: skip
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def _holds(run: Run, database: Path, *, proven: bool = False) -> bool:
    wanted = {e["event"]["id"] for e in _feed(run)}
    rows = _rows(database)
    return {r["event_id"] for r in rows} == wanted and (not proven or all(r["proof"] for r in rows))


def _record_first(run: Run, intake: Any) -> list[str]:
    ids = []
    for name, police in (("ours", AGENCY), ("theirs", OTHER_POLICE)):
        answer = intake.post(
            "/cases", json=arrest_payload(), headers=_headers(run.settings, police)
        )
        assert answer.status_code == 201, answer.text
        run.cases[name] = answer.json()["case_id"]
        ids.append(answer.json()["event_id"])
    custody = {"started_at": "2026-11-01T07:00:00Z", "legal_basis": "Art. 63 CPP"}
    answer = intake.post(f"/cases/{run.cases['ours']}/custody", json=custody,
                         headers=_headers(run.settings, AGENCY))  # fmt: skip
    assert answer.status_code == 201, answer.text
    return [*ids, answer.json()["event_id"]]


def _record_second(run: Run, intake: Any) -> list[str]:
    case_id = run.cases["ours"]
    evidence = {"item_id": "SCELLE-7", "description": "Phone", "collected_by": "Adj. Koné",
                "collected_at": "2026-11-01T08:00:00Z"}  # fmt: skip
    steps = [
        (f"/cases/{case_id}/evidence", evidence, AGENCY),
        (f"/cases/{case_id}/admission",
         admission_payload(facility=AGENCIES[PRISON].facility), PRISON),
        ("/cases", arrest_payload(), AGENCY),
    ]  # fmt: skip
    ids = []
    for path, body, agency in steps:
        answer = intake.post(path, json=body, headers=_headers(run.settings, agency))
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["event_id"])
    return ids


def _appended(run: Run, ids: list[str]) -> bool:
    with psycopg.connect(run.settings.database.conninfo()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM ledger.entries WHERE event_id = ANY(%s::uuid[])", (ids,)
        ).fetchone()
    return bool(row) and row[0] == len(ids)


@pytest.fixture(scope="module")
def run(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("agency-example")
    env = example_env()
    nats = NatsProcess(nats_conf_copy(root, root / "store"),
                       nats_environment(env, load_compose()), root / "nats.log").start()  # fmt: skip
    try:
        make_stream(user_url(nats, env, "ops"))
        base = settings_for(servers, stream="CASELINE", subject_prefix="",
                            agencies_file=str(ROOT / DEFAULT_REGISTRY),
                            ledger_checkpoint_seconds=0.5)  # fmt: skip

        def as_user(service: str) -> Settings:
            return base.model_copy(update={"nats_url": user_url(nats, env, f"svc-{service}")})

        with (
            running(intake_app(as_user("intake"))) as intake,
            serving(ledger_app(as_user("ledger"))) as ledger,
        ):
            yield from _scenario(Run(base, root, ledger), intake, nats, env)
    finally:
        nats.stop()


def _scenario(run: Run, intake: Any, nats: NatsProcess, env: dict[str, str]) -> Iterator[Run]:
    key = str(ledger_key(run.settings).public_body()["public_key"])
    pinned = ["--agency", AGENCY, "--ledger", run.ledger, "--ledger-key", key,
              "--prove-every", "0.5"]  # fmt: skip
    secrets = {"CASELINE_TOKEN": _token(run.settings, AGENCY)}
    port = free_port()
    hook = httpx.put(f"{run.ledger}/agencies/{AGENCY}/webhook",
                     json={"url": f"http://127.0.0.1:{port}/caseline"},
                     headers=_headers(run.settings, "caseline-ops", "admin"))  # fmt: skip
    assert hook.status_code == 201, hook.text
    kit = ROOT / "clients" / "python"  # the kit's repository path, and nothing of Caseline
    password = env[f"NATS_PASSWORD_AGENCY_{AGENCY.upper().replace('-', '_')}"]
    nats_mode = Example(run, kit, {**secrets, "CASELINE_NATS_PASSWORD": password})
    hooks = Example(run, kit, {**secrets, "CASELINE_WEBHOOK_SECRET": hook.json()["secret"]})
    run.databases = {"nats": run.root / "nats.db", "webhook": run.root / "hooks.db"}
    nats_args = ["nats", *pinned, "--nats", f"nats://127.0.0.1:{nats.port}",
                 "--db", str(run.databases["nats"])]  # fmt: skip
    hooks.start("webhook", *pinned, "--listen", f"127.0.0.1:{port}",
                "--db", str(run.databases["webhook"]), log="webhook.log")  # fmt: skip
    nats_mode.start(*nats_args, log="nats-1.log")
    try:
        wait_for_port(port, timeout=30)
        first = _record_first(run, intake)
        eventually(lambda: _appended(run, first), 60)
        eventually(lambda: _holds(run, run.databases["nats"]), 60)
        assert nats_mode.stop() == 0
        second = _record_second(run, intake)
        eventually(lambda: _appended(run, second), 60)
        nats_mode.start(*nats_args, log="nats-2.log")
        for database in run.databases.values():
            eventually(lambda d=database: _holds(run, d, proven=True), 90)
        run.feed = _feed(run)
        run.resolved = _resolve(run, hooks, first[0])
        assert nats_mode.stop() == 0
        # uvicorn, once shut down, ends by the signal it was stopped with.
        assert hooks.stop() in (0, -signal.SIGTERM)
    except BaseException:
        for log in sorted(run.root.glob("*.log")):
            sys.stderr.write(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}\n")
        raise
    finally:
        for example in (nats_mode, hooks):
            if example.process is not None and example.process.poll() is None:
                example.process.kill()
    yield run


def _resolve(run: Run, example: Example, event_id: str) -> Any:
    done = subprocess.run(
        example.command("resolve", "--ledger", run.ledger, "--db", str(run.databases["nats"]),
                        "--purpose", PURPOSE, event_id),
        env=example.environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("mode", ["nats", "webhook"])
def test_the_mirror_holds_every_event_the_agency_may_see_exactly_once(run, mode):
    rows = _rows(run.databases[mode])

    assert [r["event_id"] for r in rows] == [e["event"]["id"] for e in run.feed]
    assert [r["ledger_seq"] for r in rows] == [e["ledger_seq"] for e in run.feed]
    assert all(r["handled"] == 1 for r in rows)
    assert run.cases["theirs"] not in {r["case_id"] for r in rows}
    assert len(rows) == 5  # two arrests, custody, evidence, admission


@pytest.mark.parametrize("mode", ["nats", "webhook"])
def test_every_mirrored_event_is_proven_against_a_checkpoint_the_ledger_signed(run, mode):
    auditor = _headers(run.settings, "inspection")
    with psycopg.connect(run.settings.database.conninfo()) as conn:
        stored = {
            int(s): (bytes(c), bytes(h).hex())
            for s, c, h in conn.execute("SELECT ledger_seq, canonical, hash FROM ledger.entries")
        }

    for row in _rows(run.databases[mode]):
        proof = json.loads(row["proof"])
        signed = httpx.get(f"{run.ledger}/checkpoints/{proof['tree_size']}", headers=auditor)
        canonical, chain = stored[row["ledger_seq"]]
        assert row["refused"] is None
        assert proof["ledger_seq"] == row["ledger_seq"] <= proof["tree_size"]
        assert proof["hash"] == row["hash"] == chain
        assert proof["leaf_hash"] == hashlib.sha256(b"\x00" + canonical).hexdigest()
        assert proof["root_hash"] == signed.json()["root_hash"]


@pytest.mark.parametrize("mode", ["nats", "webhook"])
def test_the_mirror_never_holds_a_personal_value(run, mode):
    database = run.databases[mode]
    held = b"".join(p.read_bytes() for p in database.parent.glob(f"{database.name}*"))

    assert NAME.encode() not in held
    assert b"withheld" in held


def test_resolving_through_the_ledger_shows_the_withheld_name(run):
    assert run.resolved["erased"] is False
    assert run.resolved["fields"]["person.full_name"] == NAME
