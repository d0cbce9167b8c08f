"""Three nats-server processes run with deploy/nats/cluster/node.conf, the stream with three
replicas (made by `ops`, `caseline nats-stream`): publishing goes on while the stream's leader is
killed with kill -9, and no acknowledged event is lost."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError

from shared.kit.bus import Bus
from shared.kit.servers import free_port
from shared.kit.settings import Settings
from tests.deploy.support import (
    NatsProcess,
    example_env,
    load_compose,
    make_stream,
    nats_conf_copy,
    nats_environment,
    user_url,
)
from tests.support.bus import stream_messages

pytestmark = pytest.mark.timeout(120)

MAX_MESSAGES = 600
MAX_SECONDS = 30.0
KILL_AFTER = 150  # messages, or KILL_BY seconds on a slow machine, whichever comes first
KILL_BY = 10.0


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[NatsProcess], dict[str, str]]]:
    env = example_env()
    base_env = nats_environment(env, load_compose())
    routes = [free_port() for _ in range(3)]
    nodes = []
    for i in range(3):
        config = nats_conf_copy(
            tmp_path / f"node-{i + 1}", tmp_path / f"store-{i + 1}", cluster=True
        )
        extra = ["--cluster", f"nats://127.0.0.1:{routes[i]}",
                 "--routes", ",".join(f"nats://127.0.0.1:{p}" for p in routes)]  # fmt: skip
        node_env = {**base_env, "NATS_SERVER_NAME": f"nats-{i + 1}"}
        nodes.append(NatsProcess(config, node_env, tmp_path / f"node-{i + 1}.log", extra=extra))
    try:
        for node in nodes:
            node.start()
        yield nodes, env
    finally:
        for node in nodes:
            node.stop()


def _urls(nodes: list[NatsProcess], env: dict[str, str], user: str = "svc-intake") -> list[str]:
    return [user_url(n, env, user) for n in nodes]


async def _leader(js, stream: str) -> str:  # type: ignore[no-untyped-def]
    """The stream's leader, once it has its two other replicas."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(NatsError, JetStreamError, TimeoutError):
            info = await js.stream_info(stream)
            if info.cluster and info.cluster.leader and len(info.cluster.replicas or []) == 2:
                return str(info.cluster.leader)
        await asyncio.sleep(0.25)
    raise AssertionError("the cluster formed no R3 stream within 60 s")


async def _publish_through_a_crash(
    nodes: list[NatsProcess], env: dict[str, str]
) -> tuple[list[str], int, str]:
    """Through the kit's Bus, as a service would: all nodes in its URL, the stream made R3 by
    the operators first (a service's user may not create it)."""
    await asyncio.to_thread(make_stream, ",".join(_urls(nodes, env, "ops")), 3)
    settings = Settings(nats_url=",".join(_urls(nodes, env)), stream="CASELINE", stream_replicas=3)
    bus = Bus(settings, "cluster-test")
    bus.start()
    js = await asyncio.wait_for(bus.jetstream(), timeout=60)
    # Where the stream's leader is, the operators read (a service's user reads no stream info).
    ops = await nats.connect(_urls(nodes, env, "ops"))
    try:
        leader = await _leader(ops.jetstream(timeout=5), settings.stream)
    finally:
        await ops.close()
    acked: list[str] = []
    after_kill, killed = 0, False
    started = time.monotonic()
    try:
        for i in range(MAX_MESSAGES):
            elapsed = time.monotonic() - started
            if elapsed > MAX_SECONDS:
                break
            if not killed and (i == KILL_AFTER or elapsed > KILL_BY):
                next(n for n in nodes if n.env["NATS_SERVER_NAME"] == leader).kill()
                killed = True
            msg_id = f"event-{i}"
            # Retried with the same Nats-Msg-Id until acknowledged: a retry is de-duplicated.
            for _ in range(50):
                try:
                    await js.publish(f"caseline.intake.ArrestRecorded.case-{i}", b"{}",
                                     headers={"Nats-Msg-Id": msg_id}, timeout=2)  # fmt: skip
                    acked.append(msg_id)
                    after_kill += killed
                    break
                except (NatsError, JetStreamError, TimeoutError):
                    await asyncio.sleep(0.1)
    finally:
        await bus.close()
    return acked, after_kill, leader


# The client leaves the socket of a connection to the killed server to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_r3_stream_loses_no_acknowledged_event_when_its_leader_is_killed(cluster):
    nodes, env = cluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        acked, after_kill, leader = asyncio.run(_publish_through_a_crash(nodes, env))
        survivors = [n for n in nodes if n.process is not None]
        # Reading the stream back takes a consumer of its own: the operators' job.
        ops = _urls(survivors, env, "ops")
        stored = asyncio.run(stream_messages(ops, "CASELINE", "caseline.>"))
        gc.collect()

    assert len(survivors) == 2
    assert leader not in {n.env["NATS_SERVER_NAME"] for n in survivors}
    assert after_kill > 0  # publishing went on after the crash
    assert len(acked) > after_kill
    stored_ids = [msg_id for _, msg_id in stored]
    assert set(acked) <= set(stored_ids)
    assert len(stored_ids) == len(set(stored_ids))  # and nothing twice
