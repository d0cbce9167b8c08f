"""An upgrade in containers: a stack started from the image of the release before versioned
schemas (commit PREVIOUS, built here with this Dockerfile), with cases recorded by it, then rolled
to this release's image as docs/operations.md says. Every schema is then at this release's
version (the baseline adopted, later migrations applied), every chain verifies, every view
answers, the cases recorded before are all in the ledger and new commands flow."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.compose.conftest import make_env
from tests.compose.support import (
    FIGURES,
    ROOT,
    SERVICES,
    Load,
    Stack,
    check,
    copy_repository,
    ledger_holds_each_once,
    verify_all,
)
from tests.compose.test_c_operations_doc import BLOCKS, _bash, _env

# The release before versioned schemas: its services made their tables at start-up.
PREVIOUS = "1061d56"
VIEWS = {
    "intake": ["/cases"],
    "judicial": ["/cases", "/deadlines"],
    "assessment": ["/cases", "/reviews", "/placements/conflicts", "/instruments"],
    "programmes": ["/cases", "/programmes", "/follow-ups"],
    "ledger": ["/events", "/checkpoints/latest", "/checkpoints/key", "/audit"],
}


def _build_previous(where: Path) -> None:
    where.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", PREVIOUS], cwd=ROOT, capture_output=True,
                             check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
    # Its own Dockerfile installs from PyPI in the build container; this one can use the wheels.
    shutil.copy2(ROOT / "Dockerfile", where / "Dockerfile")
    (where / "deploy" / "wheelhouse").mkdir(parents=True, exist_ok=True)
    for wheel in (ROOT / "deploy" / "wheelhouse").glob("*.whl"):
        shutil.copy2(wheel, where / "deploy" / "wheelhouse" / wheel.name)
    subprocess.run(["docker", "build", "-q", "-t", "caseline:previous", "."], cwd=where,
                   capture_output=True, check=True)  # fmt: skip


def _previous_file(path: str) -> bytes:
    return subprocess.run(["git", "show", f"{PREVIOUS}:{path}"], cwd=ROOT, capture_output=True,
                          check=True).stdout  # fmt: skip


def _previous_settings(stack: Stack) -> list[str]:
    """The previous release verifies people's tokens with a PEM key only (a base64 raw key is
    this release's): the same issuer's key as PEM, in an override file, as a block scalar."""
    raw = base64.b64decode(stack.env["CASELINE_TOKEN_SIGNING_KEY"])
    pem = (
        Ed25519PrivateKey.from_private_bytes(raw)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    override = {
        "services": {s: {"environment": {"CASELINE_JWT_PUBLIC_KEY": pem}} for s in SERVICES}
    }
    (stack.root / "previous.yml").write_text(yaml.safe_dump(override))
    return ["docker-compose.yml", "previous.yml"]


def _views_answer(stack: Stack, case: str) -> dict[str, int]:
    headers = stack.headers("auditor")
    codes = {}
    with httpx.Client(timeout=30) as http:
        for service, paths in VIEWS.items():
            for path in paths:
                codes[f"{service}{path}"] = http.get(stack.url(service) + path,
                                                     headers=headers).status_code  # fmt: skip
        for path in (f"/cases/{case}/timeline", f"/cases/{case}/verify"):
            codes[f"ledger{path}"] = http.get(stack.url("ledger") + path,
                                              headers=headers).status_code  # fmt: skip
    return codes


def test_an_upgrade_from_the_previous_image_keeps_every_chain_and_view(
    stack: Stack, tmp_path: Path
):
    stack.compose("down", "-v", "--remove-orphans")  # the session's stack: its part is done
    _build_previous(tmp_path / "previous")
    old = Stack(copy_repository(tmp_path / "upgrade"))
    make_env(old)
    env_file = old.root / ".env"
    text = env_file.read_text()
    text = re.sub(r"^CASELINE_VERSION=.*$", "CASELINE_VERSION=previous", text, flags=re.M)
    env_file.write_text(text + "COMPOSE_PROJECT_NAME=caselineupgrade\n")
    old.files = _previous_settings(old)
    # The NATS users that release shipped with (this one's give its services fewer rights).
    conf = old.root / "deploy" / "nats" / "agencies.conf"
    conf.write_bytes(_previous_file("deploy/nats/agencies.conf"))
    try:
        old.compose("up", "-d")
        old.wait_healthy(("postgres", "nats", *SERVICES))
        before = Load(old, deadline=120).start()
        time.sleep(8)
        recorded = before.stop().event_ids
        ledger_holds_each_once(old, recorded)
        assert old.psql("SELECT to_regclass('intake.schema_migrations') IS NULL") == "t"

        env_file.write_text(env_file.read_text().replace("CASELINE_VERSION=previous",
                                                         "CASELINE_VERSION=latest"))  # fmt: skip
        old.files = []  # this release's settings: the compose file alone, as the docs run it
        conf.write_bytes((ROOT / "deploy" / "nats" / "agencies.conf").read_bytes())
        (upgrade,) = [b for b in BLOCKS if "migrate --status" in b.body]
        started = time.monotonic()
        out = _bash(upgrade.body, old.root, _env(old))
        took = time.monotonic() - started

        images = {s: old.inspect(s)["Config"]["Image"] for s in SERVICES}
        status = old.caseline("ops", "migrate", "--status")
        case = _env(old)["CASE"]
        codes = _views_answer(old, case)
        after = Load(old, deadline=120).start()
        time.sleep(5)
        ledger_holds_each_once(old, recorded + after.stop().event_ids)
        verify_all(old)
    finally:
        logs = old.compose("logs", "--no-color", check=False).stdout
        (ROOT / "var" / "compose-test").mkdir(parents=True, exist_ok=True)
        (ROOT / "var" / "compose-test" / "upgrade.log").write_text(logs)
        old.compose("down", "-v", "--remove-orphans", check=False)

    assert set(images.values()) == {"caseline:latest"}
    assert "pending" not in status.lower(), status
    assert "adopted" in status.lower() or "0001" in status, status
    assert {k: v for k, v in codes.items() if v != 200} == {}
    assert "OK: every chain" in out
    FIGURES["rolling upgrade, previous image to this one (s)"] = round(took, 1)
    check("upgrade", f"previous image ({PREVIOUS}) to this one, {len(recorded)} commands before",
          f"migrated, {len(codes)} views 200, chains verify, {took:.0f} s")  # fmt: skip
