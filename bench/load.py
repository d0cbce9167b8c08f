"""The load driver: many concurrent clients take synthetic cases along the path over HTTP.

`closed_loop` lets each client send its next command as soon as the last was answered (the
sustained maximum); `paced` sends at a fixed rate whatever the answers (latency at a given load,
measured from the scheduled send so a slow answer cannot hide the queue behind it).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.scenario import Case, Step
from shared.kit.auth import mint_token
from shared.kit.settings import Settings

__all__ = ["Driver", "Sample"]

FACILITY = "Maison Centrale d'Arrêt de Bamako"
"""The prison of the scenario's admissions (`bench/scenario.py`)."""

REACTION_WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Sample:
    """One answered command: when it was sent (wall clock), how long it took, what it recorded."""

    step: str
    sent_at: float
    latency: float
    event_ids: tuple[str, ...]


@dataclass
class Driver:
    """Sends the steps for many cases, keeps the samples, counts refusals by step and status."""

    urls: dict[str, str]
    settings: Settings
    clients: int = 8
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    setup: list[Step] = field(default_factory=list)
    hard_stop: float = float("inf")  # no reaction is waited for past this (monotonic) time
    cases: int = 0
    reaction_waits: int = 0
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def headers(self, role: str, sub: str | None = None) -> dict[str, str]:
        key = (role, sub or f"bench-{role}")
        if key not in self._tokens:
            # Prison officers act for the facility the scenario admits to (SPEC §8 scoping).
            facility = FACILITY if role in ("prison_registry", "prison_director") else None
            self._tokens[key] = mint_token(
                self.settings,
                sub=key[1],
                agency=f"{role}-agency",
                role=role,
                ttl_minutes=120,
                facility=facility,
            )
        return {"Authorization": f"Bearer {self._tokens[key]}", "Caseline-Purpose": "benchmark"}

    def client(self) -> httpx.AsyncClient:
        limits = httpx.Limits(
            max_connections=4 * self.clients, max_keepalive_connections=4 * self.clients
        )
        return httpx.AsyncClient(timeout=30, limits=limits)

    async def prepare(self, http: httpx.AsyncClient) -> dict[str, str]:
        """What the cases refer to (an instrument, a programme), made once per run."""
        ids: dict[str, str] = {}
        for step in self.setup:
            answer = await self.send(http, step, Case(0, ids), record=False)
            if answer:
                ids.update({k: str(answer[k]) for k in step.captures if k in answer})
        return ids

    async def send(
        self, http: httpx.AsyncClient, step: Step, case: Case, *, scheduled: float | None = None,
        record: bool = True,
    ) -> dict[str, Any] | None:  # fmt: skip
        """One command; a step after a reaction is retried while the reaction has not arrived."""
        try:
            path = step.path.format(**case.ids)
        except KeyError as missing:
            self.errors[f"{step.name}: no {missing.args[0]} (an earlier step failed)"] += 1
            return None
        url = self.urls[step.service] + path
        deadline = min(time.monotonic() + REACTION_WAIT_SECONDS, self.hard_stop)
        while True:
            started = time.monotonic()
            sent_at = time.time() - (started - scheduled if scheduled is not None else 0.0)
            try:
                response = await http.post(
                    url, json=step.body(case), headers=self.headers(step.role, step.sub)
                )
            except httpx.HTTPError as exc:
                self.errors[f"{step.name}: {type(exc).__name__}"] += 1
                return None
            if (
                response.status_code in (404, 409)
                and step.after_reaction
                and time.monotonic() < deadline
            ):
                self.reaction_waits += 1
                await asyncio.sleep(0.1)
                continue
            break
        if response.status_code != 201:
            self.errors[f"{step.name}: {response.status_code} {response.text[:160]}"] += 1
            return None
        answer: dict[str, Any] = response.json()
        if record:
            latency = time.monotonic() - (scheduled if scheduled is not None else started)
            ids = tuple(answer.get("event_ids") or [answer["event_id"]])
            self.samples.append(Sample(step.name, sent_at, latency, ids))
        return answer

    async def run_case(
        self, http: httpx.AsyncClient, steps: list[Step], shared: dict[str, str],
        pacer: Pacer | None, stop_at: float,
    ) -> Case:  # fmt: skip
        self.cases += 1
        case = Case.new(self.cases, shared)
        for step in steps:
            if time.monotonic() >= stop_at:
                break
            if step.only_if is not None and not step.only_if(case):
                continue
            scheduled = await pacer.slot() if pacer is not None else None
            answer = await self.send(http, step, case, scheduled=scheduled)
            if answer is None:
                if step.captures:
                    return case  # the rest of the path needs what this step would have made
                continue
            case.ids.update({k: str(answer[k]) for k in step.captures if k in answer})
        return case

    async def closed_loop(
        self, steps: list[Step], seconds: float, *, max_cases: int | None = None
    ) -> float:
        """Each client takes case after case for `seconds`; returns the elapsed time."""
        return await self._run(steps, seconds, None, self.clients, max_cases)

    async def paced(self, steps: list[Step], seconds: float, rate: float) -> float:
        """Commands at `rate` a second for `seconds`, whatever the answers."""
        return await self._run(steps, seconds, Pacer(rate), self.clients * 4, None)

    async def _run(
        self, steps: list[Step], seconds: float, pacer: Pacer | None, workers: int,
        max_cases: int | None,
    ) -> float:  # fmt: skip
        start = time.monotonic()
        stop_at = start + seconds
        self.hard_stop = stop_at + 5.0
        async with self.client() as http:
            shared = await self.prepare(http)

            async def worker() -> None:
                while time.monotonic() < stop_at and (max_cases is None or self.cases < max_cases):
                    await self.run_case(http, steps, shared, pacer, stop_at)

            await asyncio.gather(*(worker() for _ in range(workers)))
        return time.monotonic() - start


class Pacer:
    """Hands out send slots at a fixed rate (open loop)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next = time.monotonic()

    async def slot(self) -> float:
        scheduled = self.next = max(self.next + self.interval, time.monotonic() - 1.0)
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return scheduled
