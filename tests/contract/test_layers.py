"""A service's domain loads no persistence, I/O or web library: importing it (in a fresh
interpreter) leaves the standard library, pydantic and `eventsourcing.domain` the only ones loaded.

import-linter holds the same rule on the import graph (`make lint`); this one also sees inside the
`eventsourcing` package, which the graph takes as one module.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DOMAINS = [
    "shared.kit.domain",
    "services.intake.domain",
    "services.judicial.domain",
    "services.assessment.domain",
    "services.programmes.domain",
]
FORBIDDEN = (
    "eventsourcing.application",
    "eventsourcing.persistence",
    "eventsourcing.postgres",
    "fastapi",
    "httpx",
    "jwt",
    "nats",
    "psycopg",
    "psycopg_pool",
    "shared.kit.recorder",
    "shared.kit.store",
    "starlette",
    "uvicorn",
)


def _loaded_after_importing(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(done.stdout.split())


@pytest.mark.parametrize("module", DOMAINS)
def test_importing_a_domain_loads_no_persistence_io_or_web_library(module):
    loaded = _loaded_after_importing(module)

    found = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))

    assert module in loaded
    assert found == []
