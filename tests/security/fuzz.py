"""Schemathesis over one service's own OpenAPI with a valid token: every check, every phase.

The schemathesis command line runs with `schemathesis.toml` and the checks of `fuzz_hooks.py`, in
a process of its own, over real HTTP; a run with any failure gives its report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from shared.kit.auth import mint_token
from shared.kit.settings import Settings

HERE = Path(__file__).parent
TIMEOUT_SECONDS = 300


def start_fuzz(
    base_url: str, settings: Settings, role: str, workdir: Path
) -> subprocess.Popen[str]:
    """Start every phase against the service's OpenAPI, as `role`; `workdir` receives what
    schemathesis writes where it runs (`.schemathesis/`)."""
    token = mint_token(settings, sub=f"fuzz-{role}", agency=f"fuzz-{role}-agency", role=role)
    env = {
        **os.environ,
        "CASELINE_FUZZ_TOKEN": token,
        "SCHEMATHESIS_HOOKS": str(HERE / "fuzz_hooks.py"),
    }
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{base_url}/openapi.json",
    ]
    return subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def failures_of(run: subprocess.Popen[str]) -> list[str]:
    """The failures (and errors) a run found, once it is over: none, we hope."""
    try:
        output, errors = run.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        run.kill()
        output, errors = run.communicate()
        return [f"no answer within {TIMEOUT_SECONDS} s\n{output[-8000:]}{errors[-4000:]}"]
    if run.returncode == 0:
        return []
    starts = [at for at in (output.find(" ERRORS "), output.find(" FAILURES ")) if at >= 0]
    return [(output[min(starts) :] if starts else output[-8000:]) + errors[-4000:]]
