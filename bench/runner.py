"""One bench run: raw limits, then Caseline under load, catch-up, reads and tools; the targets.

`--quick` (under two minutes on two cores) and the full run measure the same things, each phase
bounded in time; the full run goes longer and fills the store to 20,000 cases before the list
and memory figures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import components, deliveries, fanout, phases, raw
from bench.cpu import MACHINE, CpuMeter
from bench.environment import Environment, LedgerFeed
from bench.load import Driver
from bench.report import Figure, Report, Target, percentile
from bench.scenario import CASE_PATH, SETUP, Step, available_steps, population_path
from shared.kit.auth import mint_token
from shared.kit.servers import free_port

__all__ = ["FULL", "QUICK", "Plan", "run"]


@dataclass(frozen=True)
class Plan:
    """How long (seconds) and how much each phase runs."""

    name: str
    clients: int
    raw_seconds: float
    load_seconds: float
    paced_seconds: float
    ledger_wait: float  # the longest wait for an event to reach the ledger
    backlog_seconds: float
    backlog_events: int
    catch_up_wait: float
    timeline_events: int
    timeline_seconds: float  # the time the long case grows, alone, after the measured phases
    reads: int
    population: int
    population_seconds: float


QUICK = Plan("quick", 8, 2.5, 10, 6, 20, 5, 2000, 30, 1000, 15, 40, 1500, 8)
FULL = Plan("full", 8, 8, 45, 30, 120, 30, 10_000, 180, 1000, 120, 200, 20_000, 1800)


def run(plan: Plan, clients: int | None = None, append: bool = True) -> Report:
    if clients:
        plan = dataclasses.replace(plan, clients=clients)
    env = Environment()
    started = time.monotonic()
    load_before = _loadavg()
    try:
        _say(f"bench ({plan.name}): starting PostgreSQL, NATS and the services")
        env.start()
        report = asyncio.run(_measure(env, plan))
    finally:
        env.stop()
    report.notes.append(
        f"load average (1 min) {load_before} before, {_loadavg()} after; the run took "
        f"{time.monotonic() - started:.0f} s"
    )
    report.print()
    if append:
        report.append()
    return report


def _loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def _say(text: str) -> None:
    print(f"  {time.strftime('%H:%M:%S')} {text}", flush=True)


async def _measure(env: Environment, plan: Plan) -> Report:
    settings = f"{plan.clients} concurrent clients; PostgreSQL fsync on; NATS file storage"
    report = Report(plan.name, settings)
    path, setup, left = await _steps(env)
    report.notes.append("case path: " + " → ".join(s.name for s in path))
    report.notes += [f"left out: {name} ({why})" for name, why in left.items()]
    feed = LedgerFeed(env.urls["ledger"], env.settings)
    try:
        limits = await _raw_limits(env, plan, report)
        idle = await _idle_cpu(env)
        long_case = phases.TimelineCase(
            Driver(env.urls, env.settings, 1, setup=setup), path, plan.timeline_events
        )
        await _load(env, feed, plan, path, setup, limits, report, idle)
        await _catch_up(env, feed, plan, [s for s in path if s.population], limits, report)
        # Grown alone, after the measured phases: its commands are not the load's, and their
        # CPU would be counted against the load's commands.
        _say(f"the long case: up to {plan.timeline_events} events in {plan.timeline_seconds:.0f} s")
        await long_case.grow(plan.timeline_seconds)
        await _reads(env, feed, plan, path, setup, long_case, report)
        await _relay_alone(env, plan, limits, report)
    finally:
        await feed.aclose()
    return report


async def _steps(env: Environment) -> tuple[list[Step], list[Step], dict[str, str]]:
    async with httpx.AsyncClient(timeout=30) as http:
        docs = {
            name: (await http.get(f"{url}/openapi.json")).json() for name, url in env.urls.items()
        }
    path, left = available_steps(CASE_PATH, docs)
    setup, _ = available_steps(SETUP, docs)
    return path, setup, left


async def _raw_limits(env: Environment, plan: Plan, report: Report) -> dict[str, float]:
    _say("raw limits: psycopg, JetStream, a bare pipeline")
    conninfo = env.raw_conninfo()
    seconds, clients = plan.raw_seconds, plan.clients
    limits = {
        "psycopg": await asyncio.to_thread(raw.psycopg_loop, conninfo, clients, seconds),
        "sync": await raw.nats_sync(env.nats_url, seconds),
        "pipelined": await raw.nats_pipelined(env.nats_url, seconds, env.settings.relay_batch),
        "pipeline": await raw.raw_pipeline(conninfo, env.nats_url, clients, seconds),
        "fanout": await fanout.fan_out(
            conninfo,
            env.nats_url,
            free_port(),
            _tokens(env, clients),
            raw.envelope_body(),
            seconds,
        ),
    }
    report.section("Raw limits (same servers, same run)", [
        Figure(f"psycopg, one row per transaction, {clients} connections", limits["psycopg"],
               "rows/s"),
        Figure("JetStream publish, one at a time (Nats-Msg-Id)", limits["sync"], "msgs/s"),
        Figure(f"JetStream publish, {env.settings.relay_batch} in flight (as the relay)",
               limits["pipelined"], "msgs/s"),
        Figure(f"bare pipeline (insert, publish, consume, insert), {clients} clients",
               limits["pipeline"], "commands/s"),
        Figure(f"bare fan-out pipeline (HTTP with a token check, insert, publish; "
               f"{len(fanout.CONSUMERS)} consumers inserting, one hashing), {clients} clients",
               limits["fanout"], "commands/s"),
    ])  # fmt: skip
    await _kit_parts(env, plan, report)
    await _agency_deliveries(env, plan, report)
    return limits


async def _kit_parts(env: Environment, plan: Plan, report: Report) -> None:
    count = int(3_000 * plan.raw_seconds)
    body, batch = raw.envelope_body(), env.settings.relay_batch
    published = await components.publishing(env.nats_url, body, count, batch)
    consumed = await components.consuming(env.nats_url, body, count, 1024)

    def figure(what: str, rate: components.Rate) -> Figure:
        return Figure(what, rate.per_second, "msgs/s", f"{rate.cpu_us:.1f} µs of CPU per message")

    report.section(f"The kit's NATS parts beside nats-py's ({count:,} messages each, same server)", [
        *(figure(f"publish, {batch} a batch, acks awaited: {name}", rate)
          for name, rate in published.items()),
        *(figure(f"durable pull consumer, 1024 a batch, each acked: {name}", rate)
          for name, rate in consumed.items()),
    ])  # fmt: skip


async def _agency_deliveries(env: Environment, plan: Plan, report: Report) -> None:
    count = int(3_000 * plan.raw_seconds)
    _say(f"an agency's deliveries: {count:,} messages, raw and through the client kit")
    rates = await deliveries.agency_rates(env.nats_url, count)
    raw_rate = rates.raw.per_second

    def figure(what: str, rate: deliveries.Rate) -> Figure:
        note = f"{rate.per_second / raw_rate:.2f} x raw; {rate.cpu_us:.0f} µs of CPU per message"
        return Figure(what, rate.per_second, "msgs/s", note)

    window = deliveries.WINDOW
    report.section(f"An agency's deliveries beside the raw consume ({count:,} messages each)", [
        Figure(f"raw: a durable pull consumer, {window} a batch, each acked", raw_rate, "msgs/s",
               f"{rates.raw.cpu_us:.0f} µs of CPU per message"),
        figure("the agency's consumer as the ledger makes it (max_ack_pending 1), fetch(1) and"
               " ack by hand", rates.bare_one),
        figure("the same consumer through the client kit (SQLite seen-store)", rates.kit_one),
        figure("the same through the client kit, seen ids in memory", rates.kit_memory),
        figure(f"the client kit on a consumer with max_ack_pending {window}, {window} a batch",
               rates.kit_window),
        Figure(f"{rates.agencies} registered agencies at once, each one in flight, through the"
               " kit: per agency", rates.each, "msgs/s",
               f"{rates.total:,.0f} msgs/s in all; the one bench process running them all kept"
               f" {rates.cores:.2f} cores busy"),
    ])  # fmt: skip


def _tokens(env: Environment, clients: int) -> list[str]:
    return [
        mint_token(env.settings, sub=f"bench-{i}", agency="bench", role="police")
        for i in range(clients)
    ]


def _meter(env: Environment) -> CpuMeter:
    groups = {name: [p.pid] for name, p in (env.stack.processes if env.stack else {}).items()}
    if env.nats is not None and env.nats.process is not None:
        groups["nats-server"] = [env.nats.process.pid]
    groups["bench client"] = [os.getpid()]
    postmaster = None
    if env.postgres is not None:
        postmaster = int((env.postgres.data_dir / "postmaster.pid").read_text().split()[0])
    return CpuMeter(groups, postmaster)


IDLE_SECONDS = 5.0


async def _idle_cpu(env: Environment) -> dict[str, float]:
    """Each process's CPU while the stack has nothing to do (its periodic work: pulls waiting,
    the relay's polls, reconciliation), as a share of one core."""
    _say(f"the stack idle for {IDLE_SECONDS:.0f} s")
    meter = _meter(env)
    meter.start()
    await asyncio.sleep(IDLE_SECONDS)
    return meter.shares()


async def _load(
    env: Environment, feed: LedgerFeed, plan: Plan, path: list[Step], setup: list[Step],
    limits: dict[str, float], report: Report, idle: dict[str, float] | None = None,
) -> None:  # fmt: skip
    def driver() -> Driver:
        return Driver(env.urls, env.settings, plan.clients, setup=setup)

    _say(f"closed loop: {plan.clients} clients for {plan.load_seconds:.0f} s")
    meter = _meter(env)
    meter.start()
    full = await phases.load(feed, driver(), path, plan.load_seconds, plan.ledger_wait)
    cpu = meter.shares()
    half = max(full.rate / 2, 1.0)
    _say(f"paced at half the sustained rate: {half:.0f} commands/s for {plan.paced_seconds:.0f} s")
    paced = await phases.load(feed, driver(), path, plan.paced_seconds, plan.ledger_wait, rate=half)
    titles = (f"Load, closed loop, {plan.clients} clients", f"Load paced at {half:.0f} commands/s")
    for title, result in zip(titles, (full, paced), strict=True):
        report.section(title, _load_figures(result))
        report.notes += [f"{title}: refused {n} times: {what}" for what, n in result.errors.items()]
    machine = cpu.pop(MACHINE, 0.0)
    ours = sum(cpu.values())
    report.section(
        f"CPU during the closed loop: the machine ({os.cpu_count()} cores) was {machine:.2f} cores"
        f" busy, this run {ours:.2f}; CPU time per command",
        [Figure(name, share * 1000 / max(full.rate, 1e-9), "ms/command", f"{share:.2f} cores")
         for name, share in sorted(cpu.items())]
        + [Figure("total (all of the stack and the bench)", ours * 1000 / max(full.rate, 1e-9),
                  "ms/command")],
    )  # fmt: skip
    if idle:
        # On a shared machine the rate falls and the idle work is spread over fewer commands:
        # what each command itself costs is the CPU above the idle share.
        idle.pop(MACHINE, None)
        above = {name: max(0.0, share - idle.get(name, 0.0)) for name, share in cpu.items()}
        report.section(
            "CPU time per command above the idle stack's (measured alone for "
            f"{IDLE_SECONDS:.0f} s before the load)",
            [Figure(name, share * 1000 / max(full.rate, 1e-9), "ms/command",
                    f"idle {idle.get(name, 0.0):.3f} cores")
             for name, share in sorted(above.items())]
            + [Figure("total", sum(above.values()) * 1000 / max(full.rate, 1e-9), "ms/command")],
        )  # fmt: skip
        stack = sum(share for name, share in above.items() if name != "bench client")
        report.targets.append(
            Target("CPU per command across the stack (above idle, the bench client left out)",
                   stack * 1000 / max(full.rate, 1e-9), 5, "ms", at_most=True)
        )  # fmt: skip
    report.targets += [
        Target("end-to-end commands/s vs raw pipeline", full.rate / limits["pipeline"], 0.3,
               "x raw"),
        Target("end-to-end commands/s vs bare fan-out pipeline", full.rate / limits["fanout"],
               0.5, "x raw"),
        Target("request → ledger p99 at half the sustained rate", paced.p(99, True), 250, "ms",
               at_most=True),
    ]  # fmt: skip


def _load_figures(result: phases.LoadResult) -> list[Figure]:
    def ms(q: float, ledger: bool = False) -> str:
        value = result.p(q, ledger)
        return "n/a" if value is None else f"{value:,.0f} ms"

    return [
        Figure("commands/s sustained", result.rate, "commands/s"),
        Figure("request → response p50", result.p(50), "ms", f"p95 {ms(95)}, p99 {ms(99)}"),
        Figure("request → ledger timeline p50", result.p(50, True), "ms",
               f"p95 {ms(95, True)}, p99 {ms(99, True)}"),
        Figure("commands not in the ledger at the end of the wait", result.not_in_ledger, ""),
        Figure("bench client CPU (share of one core)", result.client_cpu * 100, "%"),
    ]  # fmt: skip


async def _catch_up(
    env: Environment, feed: LedgerFeed, plan: Plan, population: list[Step],
    limits: dict[str, float], report: Report,
) -> None:  # fmt: skip
    _say(f"backlog: up to {plan.backlog_events} events with NATS paused and the ledger stopped")
    steps = [s for s in population if not s.after_reaction]
    driver = Driver(env.urls, env.settings, plan.clients)  # intake alone: the others are stopped
    result = await phases.backlog(
        env, feed, driver, steps, plan.backlog_events, plan.backlog_seconds, plan.catch_up_wait,
        meter=lambda: _meter(env),
    )  # fmt: skip
    bare = await asyncio.to_thread(
        phases.raw_ledger_insert, env, result.first_seq, result.ledger_events
    )
    report.section("Catch-up after a backlog", [
        Figure("events recorded while NATS was paused", result.events, "", result.note),
        Figure("relay catch-up", result.relay_rate, "events/s", result.note),
        Figure(f"ledger append during catch-up ({result.ledger_events} messages)",
               result.ledger_rate, "events/s"),
        Figure("bare batched insert of the same ledger rows (256 a transaction)", bare, "rows/s"),
    ] + [
        Figure(f"{name}: CPU per backlog event while the stopped services reacted to it",
               seconds * 1000 / result.events, "ms/event")
        for name, seconds in sorted(result.reaction_cpu.items())
        if result.events and name in ("judicial", "assessment", "programmes", "postgresql")
    ])  # fmt: skip
    ledger = None if result.ledger_rate is None or not bare else result.ledger_rate / bare
    report.targets += [
        Target("ledger catch-up append vs raw batched insert", ledger, 0.5, "x raw"),
    ]


async def _reads(
    env: Environment, feed: LedgerFeed, plan: Plan, path: list[Step], setup: list[Step],
    long_case: phases.TimelineCase, report: Report,
) -> None:  # fmt: skip
    _say(f"timeline of the {long_case.recorded}-event case, read {plan.reads} times")
    settled = [await env.settle(plan.catch_up_wait)]
    timeline = await long_case.reads(env, plan.reads, plan.ledger_wait)
    filler = Driver(env.urls, env.settings, plan.clients, setup=setup)
    filler.cases = await _cases_so_far(env, filler)
    _say(
        f"filling the store up to {plan.population:,} cases"
        f" (at most {plan.population_seconds:.0f} s)"
    )
    filled, fill_started = filler.cases, time.monotonic()
    if filler.cases < plan.population:
        population = population_path(path)
        await filler.closed_loop(population, plan.population_seconds, max_cases=plan.population)
    cases = await _cases_so_far(env, filler)
    fill_rate = (filler.cases - filled) / max(time.monotonic() - fill_started, 1e-9)
    settled.append(await env.settle(plan.catch_up_wait))
    lists = await phases.overdue_lists(env, filler, plan.reads)
    report.notes.append(
        "reads timed once the stack was quiet (every consumer drained, the stream still): waited "
        + " s and ".join(f"{s:.0f}" for s in settled)
        + " s for it"
    )
    p99 = percentile(timeline, 99)
    figures = [
        Figure(f"timeline of a {long_case.recorded}-event case, p50", percentile(timeline, 50),
               "ms", f"p99 {_ms(p99)}; {long_case.how}"),
    ]  # fmt: skip
    for name, (latencies, note) in lists.items():
        figures.append(Figure(f"GET /{name}?status=overdue at {cases:,} cases, p50",
                              percentile(latencies, 50), "ms",
                              f"p99 {_ms(percentile(latencies, 99))}; {note}"))  # fmt: skip
    figures.append(Figure("store filled through the APIs (arrest, custody, admission)", fill_rate,
                          "cases/s", f"{cases:,} cases in the store"))  # fmt: skip
    report.section("Reads", figures)
    report.targets += [
        Target(f"timeline read of {long_case.recorded} events p99", p99, 50, "ms", at_most=True),
        *(Target(f"GET /{name}?status=overdue p99 at {cases:,} cases", percentile(lat, 99), 100,
                 "ms", at_most=True) for name, (lat, _) in lists.items()),
    ]  # fmt: skip
    await _tools_and_memory(env, feed, cases, report)


async def _relay_alone(
    env: Environment, plan: Plan, limits: dict[str, float], report: Report
) -> None:
    _say("the relay over intake's whole log, into a stream of its own")
    batch = env.settings.relay_batch
    # The raw publish again, now: the first was taken at the start, on a machine maybe busier or
    # quieter than at the end. The ratio is to the higher of the two.
    # Alone, as the raw publish runs: the services (their periodic deadline checks and
    # reconciliations among them) are stopped meanwhile.
    services = list(env.stack.processes) if env.stack else []
    for name in services:
        env.signal(name, signal.SIGSTOP)
    try:
        again = await raw.nats_pipelined(env.nats_url, plan.raw_seconds, batch)
        whole = await phases.relay_whole_log(env)
    finally:
        for name in services:
            env.signal(name, signal.SIGCONT)
    cpu = "" if whole.cpu_us is None else f"{whole.cpu_us:.0f} µs of CPU per event"
    report.section("The relay over intake's whole log (the bench process, a stream of its own)", [
        Figure(f"JetStream publish, {batch} in flight, again just before", again, "msgs/s"),
        Figure(f"relay publishing {whole.events:,} stored events", whole.rate, "events/s", cpu),
    ])  # fmt: skip
    reference = max(limits["pipelined"], again)
    relay = None if whole.rate is None else whole.rate / reference
    report.targets.append(
        Target("relay catch-up vs raw pipelined publish (the higher of two)", relay, 0.7, "x raw")
    )


async def _tools_and_memory(env: Environment, feed: LedgerFeed, cases: int, report: Report) -> None:
    size = await feed.head()
    _say(f"caseline verify --all and caseline replay over {size:,} ledger entries")
    tools = await asyncio.to_thread(phases.audit_tools, env, size)
    memory = env.memory()
    report.section("Audit tools", [
        Figure("caseline verify --all", tools["verify"][0], "events/s", tools["verify"][1]),
        Figure("caseline replay", tools["replay"][0], "events/s", tools["replay"][1]),
    ])  # fmt: skip
    report.section(f"Peak resident memory at {cases:,} cases, {size:,} ledger entries",
                   [Figure(name, mb, "MB") for name, mb in memory.items()])  # fmt: skip
    report.targets += [
        Target("verify --all", tools["verify"][0], 50_000, "events/s"),
        *(Target(f"{name} peak resident memory at {cases:,} cases", mb, 200, "MB", at_most=True)
          for name, mb in memory.items()),
    ]  # fmt: skip


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


async def _cases_so_far(env: Environment, driver: Driver) -> int:
    """How many cases intake holds (its paged list says `total`)."""
    async with driver.client() as http:
        url = f"{env.urls['intake']}/cases?limit=1"
        response = await http.get(url, headers=driver.headers("police"))
    if response.status_code == 200 and isinstance(response.json(), dict):
        return int(response.json().get("total", 0))
    return 0
