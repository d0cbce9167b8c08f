"""The long fault suite (`make faults`): each fault in turn under a steady load of commands.

Every service runs as its own process; after each fault the suite waits for quiescence and checks
the services' own stores against the ledger: every recorded event there exactly once, each case's
events in their recorded order, every chain verified, no acknowledged command missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import UUID

import pytest

from caseline.reconcile import event_sourced_services
from shared.kit.bus import Bus
from tests.faults.harness import ROWS, Audit, audit, ledger_entries, recorded_events
from tests.faults.processes import FaultStack, SteadyLoad
from tests.support import eventually

# A row waits for a 30 s outage, then for quiescence (up to 150 s): more than the default limit.
pytestmark = [pytest.mark.faults, pytest.mark.timeout(600)]

BEFORE, AFTER = 3.0, 4.0  # seconds of load around each fault
ANSWERED: set[UUID] = set()  # every event id intake acknowledged, over all the faults


@pytest.fixture(scope="module")
def world() -> Iterator[FaultStack]:
    # Not under pytest's tmp dir: another pytest run may close it to the PostgreSQL system user.
    root = Path(tempfile.mkdtemp(prefix="caseline-faults-"))
    stack = FaultStack(root)
    try:
        yield stack.start()
    finally:
        stack.stop()
        shutil.rmtree(root, ignore_errors=True)


def under_load(world: FaultStack, fault: str, inject: Callable[[], None]) -> Audit:
    """Run `inject` under a steady load, wait for quiescence, then audit everything."""
    with SteadyLoad(world.url("intake"), world.settings) as load:
        time.sleep(BEFORE)
        inject()
        time.sleep(AFTER)
    services = event_sourced_services()
    with world.ledger_client() as ledger:
        headers = world.auditor()
        seen: list[int] = []
        eventually(
            lambda: settled(world, ledger, headers, services, seen), timeout=150, interval=1.0
        )
        result = audit(
            fault,
            world.settings,
            ledger,
            headers,
            sent=load.sent,
            acknowledged=load.acknowledged,
            services=services,
            every_answer=ANSWERED.union(load.acknowledged),
        )
    ANSWERED.update(load.acknowledged)
    ROWS.append(result)
    assert (load.refused, load.gave_up) == ([], 0)
    return result


def settled(world: FaultStack, ledger, headers, services, seen: list[int]) -> bool:
    """Quiescence: no consumer has anything pending, the ledger holds every recorded event,
    and nothing new was recorded since the last look."""
    if not world.consumers_idle():
        return False
    stored = {p.event_id for ps in recorded_events(world.settings, services).values() for p in ps}
    if not stored <= {e.event_id for e in ledger_entries(ledger, headers)}:
        return False
    seen.append(len(stored))
    return len(seen) > 1 and seen[-1] == seen[-2]


def test_kill_9_nats_server_and_restart(world):
    def inject() -> None:
        world.nats.kill()
        time.sleep(1.0)
        world.nats.start()

    assert under_load(world, "kill -9 nats-server, restart", inject).clean


def test_kill_9_a_service_and_restart(world):
    def inject() -> None:
        world.process("intake").kill()
        world.process("intake").wait()
        world.restart("intake")

    assert under_load(world, "kill -9 intake, restart", inject).clean


def test_restart_postgresql(world):
    assert under_load(world, "restart PostgreSQL", world.restart_postgres).clean


def test_kill_9_the_ledger_consumer_mid_batch(world):
    def inject() -> None:
        ledger = world.process("ledger")
        ledger.send_signal(signal.SIGSTOP)  # a backlog builds up …
        time.sleep(3.0)
        ledger.send_signal(signal.SIGCONT)  # … the consumer takes its first batches …
        time.sleep(0.05)
        ledger.kill()  # … and dies in the middle of appending them
        ledger.wait()
        world.restart("ledger")

    assert under_load(world, "kill -9 the ledger consumer mid-batch", inject).clean


def test_kill_9_a_reacting_service_mid_batch(world):
    def inject() -> None:
        judicial = world.process("judicial")
        judicial.send_signal(signal.SIGSTOP)  # intake's record piles up for its reactions …
        time.sleep(3.0)
        judicial.send_signal(signal.SIGCONT)  # … it takes its first batches …
        time.sleep(0.05)
        judicial.kill()  # … and dies with a batch transaction open
        judicial.wait()
        world.restart("judicial")

    assert under_load(world, "kill -9 judicial mid-batch of reactions", inject).clean


def test_pause_nats_for_30_seconds(world):
    def inject() -> None:
        world.nats.pause()
        time.sleep(30)
        world.nats.resume()

    assert under_load(world, "pause NATS (SIGSTOP) for 30 s", inject).clean


def test_broker_loses_acknowledged_messages_and_caseline_reconcile_restores_them(world):
    report: list[str] = []

    def inject() -> None:
        ledger = world.process("ledger")
        ledger.send_signal(signal.SIGSTOP)
        time.sleep(2.0)
        deleted = asyncio.run(lose_unconsumed_admissions(world, 5))
        world.nats.kill()  # a crash: the broker's duplicate window goes with the messages
        world.nats.start()
        ledger.send_signal(signal.SIGCONT)
        report.append(f"deleted {deleted}")
        report.append(reconcile(world))

    result = under_load(world, "broker lost 5 acked messages; caseline reconcile", inject)

    assert report[0] == "deleted 5", report
    assert "republished" in report[1], report
    assert result.clean


async def lose_unconsumed_admissions(world: FaultStack, count: int) -> int:
    """Delete admissions the (stopped) ledger has not consumed, behind the relay's back."""
    bus = Bus(world.settings, "fault-probe")
    bus.start()
    try:
        js = await bus.jetstream()
        stream = world.settings.stream
        floor = (await js.consumer_info(stream, "ledger")).ack_floor.stream_seq
        last = (await js.stream_info(stream)).state.last_seq
        deleted = 0
        for seq in range(last, floor, -1):
            message = await js.get_msg(stream, seq)
            if deleted < count and message.subject.split(".")[-2] == "DetaineeAdmitted":
                await js.delete_msg(stream, seq)
                deleted += 1
        return deleted
    finally:
        await bus.close()


def reconcile(world: FaultStack) -> str:
    """`caseline reconcile` as an operator runs it; returns what it printed."""
    env = dict(
        os.environ,
        CASELINE_DATABASE_URL=world.postgres.url,
        CASELINE_NATS_URL=world.nats.url,
        CASELINE_LEDGER_URL=world.url("ledger"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "caseline", "reconcile", "--margin", "0", "--from-start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    return done.stdout + done.stderr
