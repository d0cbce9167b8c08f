"""The client kit installs on its own: what it imports beyond the standard library is what its
`pyproject.toml` declares (`nats-py` as the `nats` extra), and its public names are these."""

from __future__ import annotations

import ast
import sys
import tomllib

import caseline_client
from tests.deploy.support import ROOT

KIT = ROOT / "clients/python"
DISTRIBUTIONS = {"starlette": "starlette", "httpx": "httpx", "cryptography": "cryptography",
                 "nats": "nats-py"}  # fmt: skip
"""Import name → the distribution that provides it."""


def _imported() -> set[str]:
    names: set[str] = set()
    for module in (KIT / "caseline_client").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"caseline_client", "__future__"}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip() for r in requirements}


def test_every_third_party_import_is_a_declared_dependency():
    project = tomllib.loads((KIT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _requirement_names(project["dependencies"])
    extra = _requirement_names(project["optional-dependencies"]["nats"])
    imported = _imported()

    assert imported <= set(DISTRIBUTIONS), imported - set(DISTRIBUTIONS)
    assert {DISTRIBUTIONS[name] for name in imported} == declared | extra
    assert extra == {"nats-py"}


def test_importing_the_kit_needs_no_nats():
    source = (KIT / "caseline_client" / "consumer.py").read_text(encoding="utf-8")
    top_level = [
        node for node in ast.parse(source).body if isinstance(node, ast.Import | ast.ImportFrom)
    ]

    assert all("nats" not in ast.unparse(node) for node in top_level)


def test_the_kits_public_names():
    assert caseline_client.__all__ == [
        "DEFAULT_STREAM", "ERASED", "AgencyConsumer", "Checkpoint", "Counts", "Delivery",
        "InvalidDeliveryError", "InvalidWebhookError", "LedgerClient", "LedgerError",
        "MemorySeen", "NotYetProvenError", "Proof", "ProofError", "Resolved", "Seen",
        "SqliteSeen", "Verifier", "WebhookReceiver", "checkpoint_json", "subscribe",
        "verify_webhook",
    ]  # fmt: skip
