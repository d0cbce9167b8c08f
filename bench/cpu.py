"""Where the CPU goes during a phase: each service, PostgreSQL, NATS and the bench (/proc)."""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["MACHINE", "CpuMeter"]

_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime + stime


def _children(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    out.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


MACHINE = "the whole machine"


def _machine_busy_seconds() -> float:
    """CPU seconds the machine spent busy (all processes, ours and others), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICKS


class CpuMeter:
    """CPU seconds per named group of processes between `start()` and `shares()`."""

    def __init__(self, groups: dict[str, list[int]], postmaster: int | None = None) -> None:
        self.groups = groups
        self.postmaster = postmaster
        self.before: dict[str, float] = {}
        self.started = 0.0

    def _now(self) -> dict[str, float]:
        totals = {name: sum(_cpu_seconds(p) for p in pids) for name, pids in self.groups.items()}
        totals[MACHINE] = _machine_busy_seconds()
        if self.postmaster is not None:
            # PostgreSQL forks a backend per connection: count the living ones at each look.
            pids = [self.postmaster, *_children(self.postmaster)]
            totals["postgresql"] = sum(_cpu_seconds(p) for p in pids)
        return totals

    def start(self) -> None:
        self.before, self.started = self._now(), time.monotonic()

    def shares(self) -> dict[str, float]:
        """Each group's CPU use as a share of one core (1.0 = one core busy all the time)."""
        after, elapsed = self._now(), max(time.monotonic() - self.started, 1e-9)
        return {
            name: max(0.0, after[name] - self.before.get(name, 0.0)) / elapsed for name in after
        }
