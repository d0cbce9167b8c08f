"""The bench's measurements over a running stack: load, catch-up, reads, audit tools.

Each phase is bounded in time and returns plain numbers; `bench.runner` turns them into figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import nats

from bench.cpu import CpuMeter
from bench.environment import Environment, LedgerFeed
from bench.load import Driver
from bench.raw import ledger_rows_insert
from bench.report import percentile
from bench.scenario import REPEATABLE, Case, Step
from caseline.reconcile import load_service
from shared.kit.bus import Bus
from shared.kit.relay import Relay

__all__ = [
    "Backlog",
    "LoadResult",
    "TimelineCase",
    "audit_tools",
    "backlog",
    "load",
    "overdue_lists",
    "raw_ledger_insert",
    "relay_whole_log",
]


@dataclass
class LoadResult:
    """Commands a second, latencies to the answer and to the ledger, and what went wrong."""

    rate: float
    responses: list[float]
    to_ledger: list[float]
    not_in_ledger: int
    errors: dict[str, int] = field(default_factory=dict)
    client_cpu: float = 0.0

    def p(self, q: float, ledger: bool = False) -> float | None:
        value = percentile(self.to_ledger if ledger else self.responses, q)
        return None if value is None else value * 1000


async def load(
    feed: LedgerFeed, driver: Driver, steps: list[Step], seconds: float, ledger_wait: float,
    rate: float | None = None,
) -> LoadResult:  # fmt: skip
    """Closed loop (the sustained maximum), or paced at `rate` commands a second."""
    head = await feed.head()
    cpu, wall = time.process_time(), time.time()
    if rate is None:
        await driver.closed_loop(steps, seconds)
    else:
        await driver.paced(steps, seconds, rate)
    cpu = (time.process_time() - cpu) / max(time.time() - wall, 1e-9)
    done = [s for s in driver.samples if s.sent_at + s.latency <= wall + seconds]
    last = {s.event_ids[-1]: s.sent_at for s in driver.samples}
    appended = await feed.appended(head, set(last), seconds=ledger_wait)
    return LoadResult(
        rate=len(done) / seconds,
        responses=[s.latency for s in driver.samples],
        to_ledger=[appended[e] - sent for e, sent in last.items() if e in appended],
        not_in_ledger=len(last.keys() - appended.keys()),
        errors=dict(driver.errors),
        client_cpu=cpu,
    )


@dataclass
class Backlog:
    events: int = 0
    relay_rate: float | None = None
    ledger_events: int = 0
    ledger_rate: float | None = None
    first_seq: int = 0
    note: str = ""
    reaction_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each process spent while the stopped services reacted to the backlog."""


async def backlog(
    env: Environment, feed: LedgerFeed, driver: Driver, steps: list[Step], events: int,
    seconds: float, wait: float, meter: Callable[[], CpuMeter] | None = None,
) -> Backlog:  # fmt: skip
    """Record up to `events` (intake's) with NATS paused and the other services stopped; time
    intake's relay catching up alone, then, once the others have reacted, the ledger alone: each
    is compared with a raw limit measured alone."""
    result = Backlog()
    if env.nats is None or env.stack is None:
        result.note = "needs the bench's own NATS and services"
        return result
    head, last = await feed.head(), await env.stream_last_seq()
    others = [name for name in env.stack.processes if name not in ("intake", "ledger")]
    for name in ("ledger", *others):
        env.signal(name, signal.SIGSTOP)
    try:
        env.nats.pause()
        try:
            steps = [s for s in steps if s.service == "intake"]
            cases = max(1, events // max(1, len(steps)))
            await driver.closed_loop(steps, seconds, max_cases=cases)
            result.events = sum(len(s.event_ids) for s in driver.samples)
        finally:
            env.nats.resume()
        result.relay_rate = await _watch_stream(env, last + 1, last + result.events, wait)
    finally:
        reacting = meter() if meter is not None else None
        if reacting is not None:
            reacting.start()
        for name in others:
            env.signal(name, signal.SIGCONT)
    await env.settle(wait, ignore="ledger")  # their reactions land in the stream too
    if reacting is not None:
        shares, elapsed = reacting.shares(), time.monotonic() - reacting.started
        result.reaction_cpu = {k: v * elapsed for k, v in shares.items()}
    result.ledger_events = await env.stream_last_seq() - last
    env.signal("ledger", signal.SIGCONT)
    started = time.monotonic()
    done = await feed.wait_for(head + result.ledger_events, seconds=wait)
    if done is not None:
        result.ledger_rate = result.ledger_events / (done - started)
    result.first_seq = head + 1
    return result


async def _watch_stream(env: Environment, first: int, target: int, seconds: float) -> float | None:
    """Messages a second into the stream over the backlog `first`..`target`, by the times the
    server stored the first and the last of them. Watching the stream's last sequence instead
    read 0 when the whole catch-up fell between two looks (10 ms apart)."""
    if target <= first:
        return None
    nc = await nats.connect(env.nats_url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + seconds
        while (await js.stream_info(env.settings.stream)).state.last_seq < target:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)
        began = (await js.get_msg(env.settings.stream, first)).time
        ended = (await js.get_msg(env.settings.stream, target)).time
        if began is None or ended is None or ended <= began:
            return None
        return (target - first) / (ended - began).total_seconds()
    finally:
        await nc.close()


def raw_ledger_insert(env: Environment, first_seq: int, count: int) -> float | None:
    """The same ledger rows inserted bare, 256 a transaction, into a copy of the ledger's table
    (`bench.raw.ledger_rows_insert`)."""
    if count <= 0:
        return None
    return ledger_rows_insert(env.conninfo, first_seq, count)


class _FromTheStart(Relay):
    """Intake's relay, publishing its log from the start into a stream of the bench's own: the
    position is kept in memory (the service's own relay keeps its row). Driven by `step`, it
    never takes the service's relay lock."""

    at = 0

    def position(self) -> int:
        return self.at

    def _save_position(self, position: int) -> None:
        self.at = position


@dataclass
class WholeLog:
    """The relay's steady rate over intake's whole log, and the CPU it took per event."""

    rate: float | None = None
    events: int = 0
    cpu_us: float | None = None


async def relay_whole_log(env: Environment) -> WholeLog:
    """Intake's relay code publishing every event intake holds into a stream of its own, in this
    (otherwise idle) process, like the raw pipelined publish: the relay's rate over a backlog long
    enough to time (the catch-up after the paused-NATS backlog lasts well under a second)."""
    settings = env.settings.model_copy(
        update={"stream": "BENCH_RELAY", "subject_prefix": "benchrelay."}
    )
    app = await asyncio.to_thread(load_service("intake"), settings)
    bus = Bus(settings, "bench-relay")
    bus.start()
    relay = _FromTheStart(app, bus, batch=settings.relay_batch)
    result = WholeLog()
    try:
        last = await asyncio.to_thread(app.recorder.max_notification_id) or 0
        relay.batch = 16
        await relay.step()  # a first small batch: connections, the stream, the caches
        relay.batch = settings.relay_batch
        first, started, cpu = relay.published, time.monotonic(), time.process_time()
        while relay.at < last:
            if not await relay.step():
                break
        result.events = relay.published - first
        if result.events:
            result.rate = result.events / max(time.monotonic() - started, 1e-9)
            result.cpu_us = (time.process_time() - cpu) / result.events * 1e6
        return result
    finally:
        js = await bus.jetstream()
        with contextlib.suppress(Exception):
            await js.delete_stream("BENCH_RELAY")
        await bus.close()
        await asyncio.to_thread(app.factory.close)


class TimelineCase:
    """One case grown to `events` events (a repeatable step), built alongside the load."""

    def __init__(self, driver: Driver, steps: list[Step], events: int) -> None:
        self.driver = driver
        self.events = events
        self.repeat = next((s for name in REPEATABLE for s in steps if s.name == name), None)
        # The path up to the repeatable step, so that the case is where it is allowed (a family
        # contact is for a detainee the prison registry holds: admitted to its facility).
        self.before = steps[: steps.index(self.repeat)] if self.repeat else []
        self.case = Case.new(10**9, {})
        self.recorded = 0
        self.refused: str | None = None  # why the case could not be brought there, if so

    @property
    def how(self) -> str:
        if self.repeat is None:
            return "no repeatable step"
        made = f"the case path to {self.repeat.name}, then {self.repeat.name}"
        return made if self.refused is None else f"{made}; {self.refused}: {self.driver.errors}"

    async def grow(self, seconds: float) -> None:
        if self.repeat is None or self.refused is not None:
            return
        stop_at = time.monotonic() + seconds
        async with self.driver.client() as http:
            if self.recorded == 0:
                self.case = Case.new(10**9, await self.driver.prepare(http))
                for step in self.before:
                    if step.only_if is not None and not step.only_if(self.case):
                        continue
                    answer = await self.driver.send(http, step, self.case, record=False)
                    if answer is None:
                        self.refused = f"{step.name} refused"
                        return
                    self.case.ids.update({k: str(answer[k]) for k in step.captures if k in answer})
                    self.recorded += len(answer.get("event_ids") or [answer["event_id"]])
            while self.recorded < self.events and time.monotonic() < stop_at:
                if await self.driver.send(http, self.repeat, self.case, record=False):
                    self.recorded += 1
                else:
                    self.refused = f"{self.repeat.name} refused"  # said, not sent again and again
                    return

    async def reads(self, env: Environment, reads: int, wait: float) -> list[float]:
        """The case's timeline read `reads` times once the ledger shows it whole (ms)."""
        if self.recorded == 0:
            return []
        url = f"{env.urls['ledger']}/cases/{self.case.ids['case_id']}/timeline"
        headers = self.driver.headers("auditor")
        async with self.driver.client() as http:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                response = await http.get(url, headers=headers)
                if response.status_code == 200 and len(response.json()["entries"]) >= self.recorded:
                    return await timed_gets(http, url, headers, reads)
                await asyncio.sleep(0.5)
        return []


async def timed_gets(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], reads: int
) -> list[float]:
    latencies = []
    for _ in range(reads):
        started = time.perf_counter()
        response = await http.get(url, headers=headers)
        if response.status_code == 200:
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def overdue_lists(
    env: Environment, driver: Driver, reads: int
) -> dict[str, tuple[list[float], str]]:
    """`GET /deadlines?status=overdue` and `GET /reviews?status=overdue` latencies (ms)."""
    out: dict[str, tuple[list[float], str]] = {}
    routes = {"deadlines": ("judicial", "judge"), "reviews": ("assessment", "assessor")}
    async with driver.client() as http:
        for name, (service, role) in routes.items():
            if service not in env.urls:
                out[name] = ([], "service not installed")
                continue
            url = f"{env.urls[service]}/{name}?status=overdue"
            first = await http.get(url, headers=driver.headers(role))
            if first.status_code != 200:
                out[name] = ([], f"GET /{name} answered {first.status_code}")
                continue
            body = first.json()
            shown = (
                body.get("total", len(body.get("items", []))) if isinstance(body, dict) else body
            )
            latencies = await timed_gets(http, url, driver.headers(role), reads)
            out[name] = (latencies, f"{shown if isinstance(shown, int) else len(shown)} overdue")
    return out


def audit_tools(env: Environment, ledger_size: int) -> dict[str, tuple[float | None, str]]:
    """`caseline verify --all` and `caseline replay`: events a second, from their own output."""
    environment = dict(env.stack.environment if env.stack else {})
    out: dict[str, tuple[float | None, str]] = {}
    for name, args in (("verify", ["verify", "--all"]), ("replay", ["replay"])):
        started = time.monotonic()
        try:
            done = subprocess.run(
                [sys.executable, "-m", "caseline", *args],
                env=environment, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            out[name] = (None, "timed out after 900 s")
            continue
        elapsed = time.monotonic() - started
        if done.returncode not in (0, 1) or "invalid choice" in done.stderr:
            out[name] = (None, f"exit {done.returncode}: {done.stderr.strip()[-160:]}")
            continue
        replayed = sum(int(n) for n in re.findall(r"(\d+) events replayed", done.stdout))
        events = ledger_size if name == "verify" else replayed
        failed = "" if done.returncode == 0 else f"; it failed: {_why(done)}"
        own = re.findall(r"verifying .*?\(([\d,]+)/s\)", done.stderr) if name == "verify" else []
        rate = float(own[-1].replace(",", "")) if own else (events / elapsed if events else None)
        how = "its own progress rate" if own else "process start included"
        out[name] = (rate, f"{events:,} events, {elapsed:.1f} s in all; {how}{failed}")
    return out


def _why(done: subprocess.CompletedProcess[str]) -> str:
    """The first line that says what a failed audit tool found, or its last words."""
    lines = done.stdout.splitlines()
    for i, line in enumerate(lines):
        if "DIFFERS" in line or "FAILED" in line:
            detail = lines[i + 1].strip() if i + 1 < len(lines) else ""
            return f"{' '.join(line.split())} {detail}"[:240]
    tail = [line for line in done.stderr.splitlines() if line.strip()]
    return (tail[-1] if tail else "no output")[:240]
