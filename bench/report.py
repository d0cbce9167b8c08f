"""Figures, targets and the machine they were taken on: printed, and appended to RESULTS.md."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["Figure", "Report", "Target", "machine", "percentile", "revision"]

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 < q ≤ 100) by the nearest-rank method; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def revision() -> str:
    """`git rev-parse --short HEAD`, marked `+dirty` when the tree has uncommitted changes (other
    than to RESULTS.md, which the runs themselves write)."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
             ":(exclude)bench/RESULTS.md"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> str:
    """nproc, memory and CPU model, from /proc (Linux)."""
    cpu = "unknown CPU"
    memory = "? GiB"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {memory} RAM, Python {platform.python_version()}"


@dataclass
class Figure:
    """One measured figure; `value` None means not measured (the reason is in `note`)."""

    name: str
    value: float | None
    unit: str
    note: str = ""

    def shown(self) -> str:
        if self.value is None:
            return f"n/a ({self.note})" if self.note else "n/a"
        digits = 0 if abs(self.value) >= 100 else 1 if abs(self.value) >= 10 else 2
        if not self.unit and float(self.value).is_integer():
            digits = 0  # a count
        text = f"{self.value:,.{digits}f} {self.unit}".strip()
        return f"{text} ({self.note})" if self.note else text


@dataclass
class Target:
    """A target of the issue: `measured` against `limit`; PASS/FAIL, or n/a when not measured."""

    name: str
    measured: float | None
    limit: float
    unit: str
    at_most: bool = False

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "n/a"
        ok = self.measured <= self.limit if self.at_most else self.measured >= self.limit
        return "PASS" if ok else "FAIL"

    def shown(self) -> str:
        sign = "≤" if self.at_most else "≥"
        measured = "n/a" if self.measured is None else f"{self.measured:,.2f}"
        return f"{self.verdict:<4}  {self.name}: {measured} {sign} {self.limit:,.2f} {self.unit}"


@dataclass
class Report:
    mode: str
    settings: str
    figures: list[tuple[str, list[Figure]]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def section(self, title: str, figures: list[Figure]) -> None:
        self.figures.append((title, figures))

    def lines(self) -> list[str]:
        out = [
            f"## {self.started:%Y-%m-%d %H:%M} UTC — {self.mode} run at {revision()}",
            "",
            f"- machine: {machine()}",
            f"- settings: {self.settings}",
            "",
        ]
        for title, figures in self.figures:
            out += [f"**{title}**", "", "| figure | value |", "| --- | --- |"]
            out += [f"| {f.name} | {f.shown()} |" for f in figures]
            out.append("")
        out += ["**Targets**", "", "```"] + [t.shown() for t in self.targets] + ["```", ""]
        out += [f"- {note}" for note in self.notes]
        return out

    def print(self) -> None:
        print("\n".join(self.lines()), flush=True)

    def append(self, path: Path = RESULTS) -> None:
        text = "\n".join(self.lines()).rstrip() + "\n"
        if not path.exists():
            path.write_text(
                "# Benchmark results\n\nAppended by `make bench` (`python -m bench`).\n\n"
            )
        with path.open("a") as out:
            out.write("\n" + text)
