"""The client kit's typed payloads are generated from the committed JSON Schemas and up to date,
cover every event type, and the kit stands on its own (it imports nothing of Caseline)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from caseline.cli import main
from caseline.client_models import MODELS_PATH, SCHEMAS_DIR, render_models
from shared.events.registry import EVENT_TYPES
from tests.deploy.support import ROOT

KIT = ROOT / "clients/python/caseline_client"


def test_the_committed_models_are_those_the_schemas_generate():
    committed = (ROOT / MODELS_PATH).read_text(encoding="utf-8")

    assert committed == render_models(ROOT / SCHEMAS_DIR), "run `caseline client-models`"


def test_every_event_type_has_its_payload_class():
    sys.path.insert(0, str(KIT.parent))
    try:
        from caseline_client.models import EVENT_TYPES as KIT_TYPES
    finally:
        sys.path.remove(str(KIT.parent))

    assert set(KIT_TYPES) == {c.type_name() for c in EVENT_TYPES}


def test_the_check_fails_on_a_stale_file(tmp_path: Path, capsys):
    (tmp_path / SCHEMAS_DIR).mkdir(parents=True)
    for schema in (ROOT / SCHEMAS_DIR).glob("intake.*.json"):
        (tmp_path / SCHEMAS_DIR / schema.name).write_bytes(schema.read_bytes())
    (tmp_path / MODELS_PATH).parent.mkdir(parents=True)
    (tmp_path / MODELS_PATH).write_text("stale\n")

    with pytest.raises(SystemExit) as stale:
        main(["client-models", "--root", str(tmp_path), "--check"])
    with pytest.raises(SystemExit) as written:
        main(["client-models", "--root", str(tmp_path)])
    with pytest.raises(SystemExit) as fresh:
        main(["client-models", "--root", str(tmp_path), "--check"])

    assert (stale.value.code, written.value.code, fresh.value.code) == (1, 0, 0)
    assert "class ArrestRecordedV1(TypedDict" in (tmp_path / MODELS_PATH).read_text()


@pytest.mark.parametrize("module", sorted(KIT.glob("*.py")), ids=lambda p: p.name)
def test_the_kit_imports_nothing_of_caseline(module: Path):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        )
    }  # fmt: skip

    assert not imported & {"shared", "services", "caseline"}
