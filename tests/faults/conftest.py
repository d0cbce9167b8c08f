"""Fixtures of the fault suite: a NATS server of the test's own (to stop, kill and pause), and
the table of faults printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.kit.servers import NatsServer
from tests.faults.harness import ROWS, table


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    """A nats-server only this test uses: the session's must never go down under other tests."""
    server = NatsServer(tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.resume()
        server.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    terminalreporter.section("faults: every recorded event in the ledger exactly once")
    for line in table(ROWS):
        terminalreporter.write_line(line)
