"""`caseline demo`: a realistic synthetic case recorded through the public HTTP APIs.

Everything here is fictional. The case runs from arrest to admission (more steps join as the
services grow) and ends with the ledger's verified timeline.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from shared.kit.auth import mint_token
from shared.kit.settings import Settings

__all__ = ["DemoError", "run_demo"]


class DemoError(RuntimeError):
    """A step of the demo was refused or the ledger did not catch up."""


class _Client:
    def __init__(self, urls: dict[str, str], settings: Settings) -> None:
        self.urls = urls
        self.settings = settings
        self.http = httpx.Client(timeout=15)

    def headers(self, role: str) -> dict[str, str]:
        token = mint_token(self.settings, sub=f"demo-{role}", agency=f"demo-{role}-agency", role=role)
        return {"Authorization": f"Bearer {token}"}

    def post(self, service: str, path: str, role: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(self.urls[service] + path, json=body, headers=self.headers(role))
        if response.status_code != 201:
            raise DemoError(f"{service} {path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    def get(self, service: str, path: str, role: str) -> httpx.Response:
        return self.http.get(self.urls[service] + path, headers=self.headers(role))


def run_demo(urls: dict[str, str], settings: Settings, *, quiet: bool = False) -> dict[str, Any]:
    """Record the demo case; return its verified timeline."""
    say = (lambda *_: None) if quiet else print
    c = _Client(urls, settings)
    opened = c.post(
        "intake",
        "/cases",
        "police",
        {
            "person": {
                "full_name": "Demo Person Ag Example",
                "sex": "male",
                "nationality": "Mali",
                "languages": ["Tamasheq", "French"],
                "place_of_origin": "Ménaka region",
            },
            "arrested_at": "2026-10-02T05:40:00Z",
            "location": "Checkpoint on the Gao road (fictional)",
            "arresting_unit": "Gendarmerie, Gao company (fictional)",
            "grounds": "Suspected logistics support to an armed group (synthetic demo data)",
            "returning_foreign_fighter": True,
        },
    )
    case_id = opened["case_id"]
    say(f"arrest recorded: case {case_id}")
    c.post(
        "intake",
        f"/cases/{case_id}/admission",
        "prison_registry",
        {
            "facility": "Maison Centrale d'Arrêt de Bamako",
            "admitted_at": "2026-10-06T09:15:00Z",
            "warrant_ref": "DEMO-MD-0001",
        },
    )
    say("admission recorded")
    deadline = time.monotonic() + 30
    timeline: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = c.get("ledger", f"/cases/{case_id}/timeline", "auditor")
        if response.status_code == 200:
            timeline = response.json()
            if len(timeline["entries"]) >= 2:
                break
        time.sleep(0.2)
    else:
        raise DemoError("the ledger did not show the case within 30 s")
    verified = c.get("ledger", f"/cases/{case_id}/verify", "auditor").json()
    say(f"\nTimeline of case {case_id} in the ledger:")
    for entry in timeline["entries"]:
        event = entry["event"]
        say(f"  {entry['case_seq']:>3}  {event['time']}  {event['type']}  {entry['hash'][:16]}…")
    say(f"chain verified: {verified['ok']} ({verified['events']} events, head {verified['head_hash'][:16]}…)")
    if not verified["ok"]:
        raise DemoError(f"the chain does not verify: {verified}")
    return {"case_id": case_id, "timeline": timeline, "verify": verified}
