"""Who saw this person: the five services over real HTTP, and the ledger's merge of their read
audits (`GET /audit/cases/{case_id}`, `caseline audit --case`), each entry naming its service."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from caseline.cli import main
from services.ledger.service import create_app as ledger_app
from shared.kit.servers import free_port
from shared.kit.settings import Settings
from shared.kit.testing import Servers, settings_for
from tests.support import arrest_payload, auth, eventually, serving

EVENT_SOURCED = ("intake", "judicial", "assessment", "programmes")
FIVE = ("intake", "judicial", "assessment", "programmes", "ledger")
PURPOSE = {"Caseline-Purpose": "who saw this person"}
CASE_ROUTE = dict.fromkeys(EVENT_SOURCED, "/cases/{case_id}") | {
    "ledger": "/cases/{case_id}/timeline"
}


@dataclass
class Stack:
    settings: Settings
    urls: dict[str, str]

    def get(self, service: str, path: str, role: str, sub: str, **params: object) -> httpx.Response:
        headers = {**auth(self.settings, role, sub=sub), **PURPOSE}
        return httpx.get(self.urls[service] + path, params=params, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def stack(servers: Servers) -> Iterator[Stack]:
    """The four event-sourced services served over HTTP, and a ledger that knows their URLs."""
    settings = settings_for(servers, audit_anchor_seconds=0, deadline_check_seconds=3600)
    with ExitStack() as running:
        urls = {}
        for name in EVENT_SOURCED:
            module = importlib.import_module(f"services.{name}.service")
            urls[name] = running.enter_context(serving(module.create_app(settings)))
        known = ",".join(f"{name}={url}" for name, url in urls.items())
        ledger = ledger_app(settings.model_copy(update={"service_urls": known}))
        urls["ledger"] = running.enter_context(serving(ledger))
        yield Stack(settings, urls)


@pytest.fixture(scope="module")
def case_id(stack: Stack) -> str:
    """A case every service knows."""
    answer = httpx.post(
        stack.urls["intake"] + "/cases",
        json=arrest_payload(),
        headers=auth(stack.settings, "police"),
    )
    assert answer.status_code == 201, answer.text
    case = str(answer.json()["case_id"])
    for service in FIVE:
        path = CASE_ROUTE[service].format(case_id=case)
        eventually(lambda s=service, p=path: stack.get(s, p, "auditor", "probe").status_code == 200)
    return case


def _reads(stack: Stack, case: str, reader: str) -> list[tuple[str, str]]:
    """One read of the case on each service and one list read, as a judge; what was read."""
    done = []
    for service in FIVE:
        answer = stack.get(service, CASE_ROUTE[service].format(case_id=case), "judge", reader)
        assert answer.status_code == 200, (service, answer.text)
        done.append((service, f"GET {CASE_ROUTE[service]}"))
    assert stack.get("intake", "/cases", "judge", reader, limit=500).status_code == 200
    return [*done, ("intake", "GET /cases")]


def _merged(stack: Stack, case: str, **params: object) -> dict:
    answer = stack.get("ledger", f"/audit/cases/{case}", "auditor", "inspector", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_read_of_a_case_on_every_service_is_merged_in_time_order(stack, case_id):
    reader = f"judge-{uuid.uuid4().hex[:8]}"
    done = _reads(stack, case_id, reader)

    merged = _merged(stack, case_id.upper().replace("-", ""))

    assert (merged["case_id"], merged["missing"], merged["truncated"]) == (case_id, [], [])
    assert merged["services"] == list(FIVE)
    times = [datetime.fromisoformat(e["at"]) for e in merged["entries"]]
    assert times == sorted(times)
    assert [(e["service"], e["route"]) for e in merged["entries"] if e["actor"] == reader] == done
    listed = [e for e in merged["entries"] if e["actor"] == reader and e["route"] == "GET /cases"]
    assert [(e["case_id"], case_id in e["case_ids"]) for e in listed] == [(None, True)]


def test_since_and_until_bound_the_merged_reads(stack, case_id):
    reader = f"judge-{uuid.uuid4().hex[:8]}"
    _reads(stack, case_id, reader)
    mine = [e for e in _merged(stack, case_id)["entries"] if e["actor"] == reader]

    window = _merged(stack, case_id, since=mine[2]["at"], until=mine[3]["at"])

    assert [e["seq"] for e in window["entries"] if e["actor"] == reader] == [
        e["seq"] for e in mine[2:4]
    ]


def test_the_ledgers_feed_records_the_cases_of_the_events_it_returned(stack, case_id):
    feed = stack.get("ledger", "/events", "auditor", "feed-reader", limit=1000)

    merged = _merged(stack, case_id)

    assert feed.status_code == 200
    assert case_id in {e["event"]["subject"] for e in feed.json()["entries"]}
    [entry] = [e for e in merged["entries"] if e["actor"] == "feed-reader"]
    assert (entry["service"], entry["route"], entry["case_id"]) == ("ledger", "GET /events", None)
    assert case_id in entry["case_ids"]


def test_only_auditors_read_a_cases_reads(stack, case_id):
    statuses = {
        role: stack.get("ledger", f"/audit/cases/{case_id}", role, "someone").status_code
        for role in ("judge", "police", "admin")
    }

    assert statuses == {"judge": 403, "police": 403, "admin": 403}


def test_the_command_line_prints_every_read_naming_its_service(stack, case_id, capsys):
    reader = f"judge-{uuid.uuid4().hex[:8]}"
    _reads(stack, case_id, reader)
    token = auth(stack.settings, "auditor", sub="cli-inspector")["Authorization"].split()[1]

    with pytest.raises(SystemExit) as exit_:
        main(["audit", "--case", case_id, "--ledger", stack.urls["ledger"], "--token", token,
              "--purpose", "annual inspection"])  # fmt: skip

    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert f"case {case_id}:" in out
    lines = [line.split() for line in out.splitlines() if reader in line]
    assert [(words[1], words[2]) for words in lines] == [(s, "allowed") for s in FIVE] + [
        ("intake", "allowed")
    ]
    assert "MISSING" not in out


def test_a_service_that_does_not_answer_is_named_as_missing(stack, case_id, capsys):
    urls = {**stack.urls, "judicial": f"http://127.0.0.1:{free_port()}"}
    known = ",".join(f"{n}={urls[n]}" for n in ("intake", "judicial", "assessment"))
    ledger = ledger_app(stack.settings.model_copy(update={"service_urls": known}))
    token = auth(stack.settings, "auditor", sub="cli-inspector")["Authorization"].split()[1]

    with serving(ledger) as url:
        merged = httpx.get(
            f"{url}/audit/cases/{case_id}",
            headers={**auth(stack.settings, "auditor"), **PURPOSE},
            timeout=60,
        ).json()
        with pytest.raises(SystemExit) as exit_:
            main(["audit", "--case", case_id, "--ledger", url, "--token", token])

    missing = {m["service"]: m["reason"] for m in merged["missing"]}
    assert set(missing) == {"judicial", "programmes"}
    assert missing["judicial"].startswith("did not answer")
    assert "CASELINE_SERVICE_URLS" in missing["programmes"]
    assert merged["services"] == ["intake", "assessment", "ledger"]
    out = capsys.readouterr().out
    assert exit_.value.code == 1
    assert "MISSING judicial: did not answer" in out
